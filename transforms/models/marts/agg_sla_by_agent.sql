-- One row per agent (current assignee) x ISO week of created_at: how the tickets created that week fare, as of as_of.

with

agents as (

    select agent_id, agent_name from {{ ref('dim_agents') }}

),

weekly as (

    select * from {{ ref('int_sla_weekly') }}
    where grouped_by = 'agent'

),

named as (

    select
        weekly.week_start,
        weekly.iso_week,
        weekly.agent_id,
        agents.agent_name,
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
    left join agents on agents.agent_id = weekly.agent_id

)

select * from named
