-- One row per ticket x status interval with its SLA clock: the ticket's target, the hours on the
-- clock before the interval, and breach_at when the clock reaches the target in this interval. The
-- clock runs from created_at in every status but the clock-stopping ones; past as_of the ticket is
-- assumed to stay in its current status, so the current interval breaches unless it stops the
-- clock. A ticket's breach is its first interval's breach_at (int_ticket_summary). Inlined there
-- (ephemeral).

{{ config(materialized='ephemeral') }}

with

targets as (

    select tickets.ticket_id, priorities.sla_target_hours
    from {{ ref('stg_tickets') }} as tickets
    inner join {{ ref('dim_priorities') }} as priorities
        on priorities.priority_id = coalesce(tickets.priority_id, -1)

),

running_clock as (

    select
        intervals.*,
        targets.sla_target_hours,
        coalesce(
            sum(case when intervals.stops_clock then 0 else intervals.hours end) over (
                partition by intervals.ticket_id
                order by intervals.interval_seq
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as clock_hours_before
    from {{ ref('int_ticket_status_intervals') }} as intervals
    inner join targets on targets.ticket_id = intervals.ticket_id

)

select
    running_clock.*,
    case
        when not stops_clock and (clock_hours_before + hours >= sla_target_hours or is_current)
            then {{ usercom_tickets.add_hours('entered_at', 'sla_target_hours - clock_hours_before') }}
    end as breach_at
from running_clock
