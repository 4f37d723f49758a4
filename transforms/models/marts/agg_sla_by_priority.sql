-- One row per priority x ISO week of created_at: how the tickets created that week fare, as of as_of.

with

priorities as (

    select priority_id, priority_name from {{ ref('dim_priorities') }}

),

weekly as (

    select * from {{ ref('int_sla_weekly') }}
    where grouped_by = 'priority'

),

named as (

    select
        weekly.week_start,
        weekly.iso_week,
        weekly.priority_id,
        priorities.priority_name,
        weekly.tickets_created,
        weekly.tickets_closed,
        weekly.tickets_open,
        weekly.tickets_overdue,
        weekly.tickets_breached,
        weekly.median_resolution_hours,
        weekly.p90_resolution_hours,
        weekly.on_time_rate,
        weekly.breach_rate,
        weekly.reopen_rate
    from weekly
    left join priorities on priorities.priority_id = weekly.priority_id

)

select * from named
