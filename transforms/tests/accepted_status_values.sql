-- Every status, on tickets, in status_history, in tickets_history and in the marts, is one User.com
-- knows: active, closed, archived or draft.

with

statuses as (

    select 'stg_tickets' as relation, ticket_id, status from {{ ref('stg_tickets') }}
    union all
    select 'stg_ticket_status_history', ticket_id, status from {{ ref('stg_ticket_status_history') }}
    union all
    select 'stg_tickets_history', ticket_id, status from {{ ref('stg_tickets_history') }}
    union all
    select 'fct_tickets', ticket_id, status from {{ ref('fct_tickets') }}
    union all
    select 'fct_ticket_status_intervals', ticket_id, status from {{ ref('fct_ticket_status_intervals') }}

)

select relation, ticket_id, status
from statuses
where status is null or status not in ('active', 'closed', 'archived', 'draft')
