-- One row per ticket x status interval up to as_of (the last one runs to as_of), its calendar and
-- business hours, with the ticket's current priority and assignee for slicing.

with

intervals as (

    select * from {{ ref('int_ticket_status_intervals') }}

),

tickets as (

    select ticket_id, priority_id, assignee_id
    from {{ ref('fct_tickets') }}

),

joined as (

    select
        intervals.ticket_id,
        intervals.interval_seq,
        intervals.status,
        intervals.entered_at,
        intervals.left_at,
        intervals.hours,
        intervals.business_hours,
        intervals.is_current,
        intervals.is_terminal,
        intervals.stops_clock,
        intervals.source as entered_from,
        tickets.priority_id,
        tickets.assignee_id
    from intervals
    inner join tickets on tickets.ticket_id = intervals.ticket_id

)

select * from joined
