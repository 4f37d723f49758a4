-- One row per ISO week of created_at x priority, per ISO week x agent (current assignee) and per ISO
-- week x company (-1: none): the SLA measures the weekly marts share, computed once with grouping sets.
-- Tickets deleted by as_of are left out (transforms/README.md, decision log).

with

tickets as (

    select *, coalesce(company_id, -1) as company_key
    from {{ ref('fct_tickets') }}
    where not is_deleted

),

weekly as (

    select
        case
            when grouping(priority_id) = 0 then 'priority'
            when grouping(assignee_id) = 0 then 'agent'
            else 'company'
        end as grouped_by,
        created_week as week_start,
        created_iso_week as iso_week,
        priority_id,
        assignee_id as agent_id,
        company_key as company_id,
        {{ usercom_tickets.sla_measures() }}
    from tickets
    group by grouping sets (
        (created_week, created_iso_week, priority_id),
        (created_week, created_iso_week, assignee_id),
        (created_week, created_iso_week, company_key)
    )

)

select * from weekly
