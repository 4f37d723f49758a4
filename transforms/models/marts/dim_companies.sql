-- One row per company seen on a ticket created up to as_of, and -1 for tickets without one: its latest
-- name, how many tickets and people it has, and the all-time SLA measures of its tickets not deleted
-- by as_of (as rpt_sla_by_priority has them per priority).

with

tickets as (

    select *, coalesce(company_id, -1) as company_key
    from {{ ref('fct_tickets') }}

),

names as (

    select company_id, {{ usercom_tickets.arg_max('company_name', 'updated_at') }} as company_name
    from {{ ref('stg_tickets') }}
    where company_id is not null
    group by company_id

),

counts as (

    select
        company_key,
        count(distinct person_id) as people,
        {{ usercom_tickets.count_if('is_deleted') }} as tickets_deleted,
        min(created_at) as first_ticket_at,
        max(created_at) as last_ticket_at
    from tickets
    group by company_key

),

measures as (

    select
        company_key,
        {{ usercom_tickets.sla_measures() }}
    from tickets
    where not is_deleted
    group by company_key

)

select
    counts.company_key as company_id,
    case when counts.company_key = -1 then '(no company)' else names.company_name end as company_name,
    cast(counts.people as {{ dbt.type_bigint() }}) as people,
    coalesce(measures.tickets_created, 0) as tickets_created,
    coalesce(measures.tickets_open, 0) as tickets_open,
    coalesce(measures.tickets_overdue, 0) as tickets_overdue,
    coalesce(measures.tickets_closed, 0) as tickets_closed,
    coalesce(measures.tickets_breached, 0) as tickets_breached,
    counts.tickets_deleted,
    counts.first_ticket_at,
    counts.last_ticket_at,
    measures.on_time_rate,
    measures.breach_rate,
    measures.reopen_rate,
    measures.median_resolution_hours,
    measures.p90_resolution_hours,
    measures.median_resolution_business_hours,
    measures.p90_resolution_business_hours
from counts
left join names on names.company_id = counts.company_key
left join measures on measures.company_key = counts.company_key
