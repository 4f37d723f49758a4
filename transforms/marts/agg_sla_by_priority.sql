-- One row per priority x ISO week of created_at: how the tickets created that week fare, as of as_of.

with

tickets as (

    select * from analytics.fct_tickets

),

priorities as (

    select priority_id, priority_name from analytics.dim_priorities

),

weekly as (

    select
        created_week as week_start,
        created_iso_week as iso_week,
        priority_id,
        count(*) as tickets_created,
        count_if(not is_open) as tickets_closed,
        count_if(is_open) as tickets_open,
        count_if(is_overdue) as tickets_overdue,
        count_if(is_sla_breached) as tickets_breached,
        median(first_resolution_hours) as median_resolution_hours,
        quantile_cont(first_resolution_hours, 0.9) as p90_resolution_hours,
        analytics.on_time_rate(closed_on_time) as on_time_rate,
        analytics.breach_rate(is_sla_breached, is_sla_active) as breach_rate,
        analytics.reopen_rate(reopen_count, first_closed_at) as reopen_rate
    from tickets
    group by all

),

named as (

    select
        weekly.week_start,
        weekly.iso_week,
        weekly.priority_id,
        priorities.priority_name,
        weekly.* exclude (week_start, iso_week, priority_id)
    from weekly
    left join priorities using (priority_id)

)

select * from named
