-- One row per agent (current assignee) x ISO week of created_at: how the tickets created that week fare, as of as_of.

with

agents as (

    select agent_id, agent_name from analytics.dim_agents

),

weekly as (

    select * exclude (grouped_by, priority_id)
    from analytics.int_sla_weekly
    where grouped_by = 'agent'

),

named as (

    select
        weekly.week_start,
        weekly.iso_week,
        weekly.agent_id,
        agents.agent_name,
        weekly.* exclude (week_start, iso_week, agent_id)
    from weekly
    left join agents using (agent_id)

)

select * from named
