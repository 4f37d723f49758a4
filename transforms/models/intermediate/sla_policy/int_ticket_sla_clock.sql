-- One row per ticket: its SLA target and the moment it breaches. The clock runs from created_at in
-- every status but the clock-stopping ones; the breach comes when the running time reaches the
-- target. Past as_of the ticket is assumed to stay in its current status: null while the clock is
-- stopped and the target not yet reached.

with

tickets as (

    select ticket_id, coalesce(priority_id, -1) as priority_id
    from {{ ref('stg_tickets') }}

),

intervals as (

    select * from {{ ref('int_ticket_status_intervals') }}

),

targets as (

    select tickets.ticket_id, priorities.sla_target_hours
    from tickets
    inner join {{ ref('int_priorities') }} as priorities on priorities.priority_id = tickets.priority_id
    where exists (select 1 from intervals where intervals.ticket_id = tickets.ticket_id)

),

running_clock as (

    select
        intervals.ticket_id,
        intervals.interval_seq,
        intervals.entered_at,
        intervals.hours,
        intervals.is_current,
        intervals.stops_clock,
        targets.sla_target_hours,
        coalesce(
            sum(case when intervals.stops_clock then 0 else intervals.hours end) over (
                partition by intervals.ticket_id
                order by intervals.interval_seq
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as clock_hours_before
    from intervals
    inner join targets on targets.ticket_id = intervals.ticket_id

),

breach_candidates as (

    select
        ticket_id,
        interval_seq,
        {{ usercom_tickets.add_hours('entered_at', 'sla_target_hours - clock_hours_before') }} as breach_at
    from running_clock
    where not stops_clock
        and (clock_hours_before + hours >= sla_target_hours or is_current)

),

breaches as (

    select
        ticket_id,
        {{ usercom_tickets.arg_min('breach_at', 'interval_seq') }} as sla_breach_at
    from breach_candidates
    group by ticket_id

),

clock as (

    select
        targets.ticket_id,
        targets.sla_target_hours,
        breaches.sla_breach_at
    from targets
    left join breaches on breaches.ticket_id = targets.ticket_id

)

select * from clock
