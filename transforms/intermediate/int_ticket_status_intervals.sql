-- One row per ticket x status interval: from one status change to the next, the last one up to
-- as_of. Together a ticket's intervals cover created_at -> as_of without gaps or overlaps.

with

policy as (

    select * from analytics.policy

),

events as (

    select * from analytics.int_ticket_status_events

),

intervals as (

    select
        events.ticket_id,
        events.event_seq as interval_seq,
        events.status,
        events.source,
        events.event_at as entered_at,
        coalesce(lead(events.event_at) over ticket_events, policy.as_of) as left_at,
        lead(events.event_at) over ticket_events is null as is_current,
        list_contains(policy.terminal_statuses, events.status) as is_terminal,
        list_contains(policy.clock_stopping_statuses, events.status) as stops_clock
    from events
    cross join policy
    window ticket_events as (partition by events.ticket_id order by events.event_seq)

)

select
    ticket_id,
    interval_seq,
    status,
    source,
    entered_at,
    left_at,
    analytics.hours_between(entered_at, left_at) as hours,
    is_current,
    is_terminal,
    stops_clock
from intervals
