-- One row per ISO week of created_at x priority, and per ISO week x agent (current assignee):
-- the SLA measures both weekly marts share, computed once with grouping sets.

with

tickets as (

    select * from analytics.fct_tickets

),

weekly as (

    select
        case when grouping(assignee_id) = 1 then 'priority' else 'agent' end as grouped_by,
        created_week as week_start,
        created_iso_week as iso_week,
        priority_id,
        assignee_id as agent_id,
        count(*) as tickets_created,
        count_if(not is_open)::bigint as tickets_closed,
        count_if(is_open)::bigint as tickets_open,
        count_if(is_overdue)::bigint as tickets_overdue,
        count_if(is_sla_breached)::bigint as tickets_breached,
        median(first_resolution_hours) as median_resolution_hours,
        quantile_cont(first_resolution_hours, 0.9) as p90_resolution_hours,
        analytics.on_time_rate(closed_on_time) as on_time_rate,
        analytics.breach_rate(is_sla_breached, is_sla_active) as breach_rate,
        analytics.reopen_rate(reopen_count, first_closed_at) as reopen_rate
    from tickets
    group by grouping sets (
        (created_week, created_iso_week, priority_id),
        (created_week, created_iso_week, assignee_id)
    )

)

select * from weekly
