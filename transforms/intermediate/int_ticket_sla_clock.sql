-- One row per ticket: its SLA target and the moment it breaches. The clock runs from created_at in
-- every status but the clock-stopping ones; the breach comes when the running time reaches the
-- target. Past as_of the ticket is assumed to stay in its current status: null while the clock is
-- stopped and the target not yet reached.

with

tickets as (

    select ticket_id, coalesce(priority_id, -1) as priority_id
    from analytics.stg_tickets

),

targets as (

    select tickets.ticket_id, priorities.sla_target_hours
    from tickets
    inner join analytics.int_priorities as priorities using (priority_id)

),

intervals as (

    select * from analytics.int_ticket_status_intervals

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
    inner join targets using (ticket_id)

),

breaches as (

    select
        ticket_id,
        arg_min(
            analytics.add_hours(entered_at, sla_target_hours - clock_hours_before),
            interval_seq
        ) as sla_breach_at
    from running_clock
    where not stops_clock
        and (clock_hours_before + hours >= sla_target_hours or is_current)
    group by ticket_id

),

clock as (

    select
        targets.ticket_id,
        targets.sla_target_hours,
        breaches.sla_breach_at
    from targets
    left join breaches using (ticket_id)
    semi join intervals using (ticket_id)

)

select * from clock
