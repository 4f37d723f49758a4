-- Every priority a mart row points at is in dim_priorities.

with

priority_references as (

    select 'fct_tickets' as relation, ticket_id::varchar as row_key, priority_id
    from analytics.fct_tickets
    union all
    select 'fct_ticket_status_intervals', ticket_id || '/' || interval_seq, priority_id
    from analytics.fct_ticket_status_intervals
    union all
    select 'agg_sla_by_priority', week_start || '/' || priority_id, priority_id
    from analytics.agg_sla_by_priority
    union all
    select 'rpt_backlog_daily', day || '/' || priority_id, priority_id
    from analytics.rpt_backlog_daily

)

select relation, row_key, priority_id
from priority_references
anti join analytics.dim_priorities using (priority_id)
