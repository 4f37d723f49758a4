-- One row per ticket x status interval: from one status change to the next, the last one up to
-- as_of. Together a ticket's intervals cover created_at -> as_of without gaps or overlaps. Inlined
-- where used (ephemeral): the events already carry the next change, and the business clock at both
-- ends (null without a business-hours schedule).

{{ config(materialized="ephemeral") }}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

events as (

    select * from {{ ref('int_ticket_status_events') }}

),

intervals as (

    select
        events.ticket_id,
        events.event_seq as interval_seq,
        events.status,
        events.source,
        events.event_at as entered_at,
        events.next_event_at,
        events.is_closure,
        events.is_reopen,
        events.schedule_id,
        events.business_clock_us,
        events.next_business_clock_us,
        policy.as_of
    from events
    cross join policy

)

select
    ticket_id,
    interval_seq,
    status,
    source,
    entered_at,
    coalesce(next_event_at, as_of) as left_at,
    {{ usercom_tickets.hours_between('entered_at', 'coalesce(next_event_at, as_of)') }} as hours,
    schedule_id,
    business_clock_us,
    next_business_clock_us - business_clock_us as business_us,
    {{ usercom_tickets.microseconds_to_hours('next_business_clock_us - business_clock_us') }} as business_hours,
    next_event_at is null as is_current,
    coalesce({{ usercom_tickets.is_terminal('status') }}, false) as is_terminal,
    coalesce({{ usercom_tickets.stops_clock('status') }}, false) as stops_clock,
    is_closure,
    is_reopen
from intervals
