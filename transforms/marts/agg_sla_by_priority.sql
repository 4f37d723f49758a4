-- One row per priority x ISO week of created_at: how the tickets created that week fare, as of as_of.

with

priorities as (

    select priority_id, priority_name from analytics.dim_priorities

),

weekly as (

    select * exclude (grouped_by, agent_id)
    from analytics.int_sla_weekly
    where grouped_by = 'priority'

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
