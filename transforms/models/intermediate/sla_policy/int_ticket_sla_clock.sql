-- One row per ticket x status interval with its SLA clock: the ticket's target, the time on the clock
-- before the interval, and where the clock reaches the target when it does in this interval. The
-- clock runs from created_at in every status but the clock-stopping ones; past as_of the ticket is
-- assumed to stay in its current status, so the current interval breaches unless it stops the
-- clock. A ticket's breach is its first interval's (int_ticket_summary). Inlined there (ephemeral).
--
-- The clock is the policy's sla_clock. calendar: every hour counts, breach_at is an instant.
-- business: only the schedule's opening hours count (the targets are business hours), and the breach
-- is a reading of the business clock, breach_clock_us (int_business_windows), which int_ticket_summary
-- turns into an instant once per ticket.

{{ config(materialized='ephemeral') }}

{%- set business = usercom_tickets.uses_business_clock() %}

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
        {%- if business %}
        cast(round(targets.sla_target_hours * 3600e6) as {{ dbt.type_bigint() }}) as sla_target_us,
        cast(coalesce(
            sum(case when intervals.stops_clock then 0 else intervals.business_us end) over (
                partition by intervals.ticket_id
                order by intervals.interval_seq
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as {{ dbt.type_bigint() }}) as clock_us_before
        {%- else %}
        coalesce(
            sum(case when intervals.stops_clock then 0 else intervals.hours end) over (
                partition by intervals.ticket_id
                order by intervals.interval_seq
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as clock_hours_before
        {%- endif %}
    from {{ ref('int_ticket_status_intervals') }} as intervals
    inner join targets on targets.ticket_id = intervals.ticket_id

)

select
    running_clock.*,
    {%- if business %}
    cast(null as {{ usercom_tickets.type_timestamptz() }}) as breach_at,
    case
        when not stops_clock and (clock_us_before + business_us >= sla_target_us or is_current)
            then business_clock_us + (sla_target_us - clock_us_before)
    end as breach_clock_us
    {%- else %}
    case
        when not stops_clock and (clock_hours_before + hours >= sla_target_hours or is_current)
            then {{ usercom_tickets.add_hours('entered_at', 'sla_target_hours - clock_hours_before') }}
    end as breach_at,
    cast(null as {{ dbt.type_bigint() }}) as breach_clock_us
    {%- endif %}
from running_clock
