-- One row per priority: the headline SLA table over every ticket created up to as_of.

with

tickets as (

    select * from analytics.fct_tickets

),

priorities as (

    select * from analytics.dim_priorities

),

by_priority as (

    select
        priority_id,
        count(*) as tickets_created,
        count_if(is_open) as tickets_open,
        count_if(is_overdue) as tickets_overdue,
        count_if(not is_open) as tickets_closed,
        count_if(is_sla_breached) as tickets_breached,
        analytics.on_time_rate(closed_on_time) as on_time_rate,
        analytics.breach_rate(is_sla_breached, is_sla_active) as breach_rate,
        analytics.reopen_rate(reopen_count, first_closed_at) as reopen_rate,
        median(first_resolution_hours) as median_resolution_hours,
        quantile_cont(first_resolution_hours, 0.9) as p90_resolution_hours
    from tickets
    group by priority_id

),

named as (

    select
        priorities.priority_id,
        priorities.priority_name,
        priorities.priority_order,
        priorities.sla_target_hours,
        coalesce(by_priority.tickets_created, 0) as tickets_created,
        coalesce(by_priority.tickets_open, 0) as tickets_open,
        coalesce(by_priority.tickets_overdue, 0) as tickets_overdue,
        coalesce(by_priority.tickets_closed, 0) as tickets_closed,
        coalesce(by_priority.tickets_breached, 0) as tickets_breached,
        by_priority.on_time_rate,
        by_priority.breach_rate,
        by_priority.reopen_rate,
        by_priority.median_resolution_hours,
        by_priority.p90_resolution_hours
    from priorities
    left join by_priority using (priority_id)

)

select * from named
