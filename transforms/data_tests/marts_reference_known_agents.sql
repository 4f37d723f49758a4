-- Every agent a mart row points at is in dim_agents.

with

agent_references as (

    select 'fct_tickets.assignee_id' as reference, ticket_id::varchar as row_key, assignee_id as agent_id
    from analytics.fct_tickets
    union all
    select 'fct_tickets.author_id', ticket_id::varchar, author_id from analytics.fct_tickets
    union all
    select 'fct_ticket_status_intervals.assignee_id', ticket_id || '/' || interval_seq, assignee_id
    from analytics.fct_ticket_status_intervals
    union all
    select 'agg_sla_by_agent.agent_id', week_start || '/' || agent_id, agent_id
    from analytics.agg_sla_by_agent

)

select reference, row_key, agent_id
from agent_references
anti join analytics.dim_agents using (agent_id)
