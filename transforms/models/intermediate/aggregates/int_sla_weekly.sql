-- One row per ISO week of created_at x priority, and per ISO week x agent (current assignee):
-- the SLA measures both weekly marts share, computed once with grouping sets. Tickets deleted by
-- as_of are left out (transforms/README.md, decision log).

with

tickets as (

    select * from {{ ref('fct_tickets') }}
    where not is_deleted

),

weekly as (

    select
        case when grouping(assignee_id) = 1 then 'priority' else 'agent' end as grouped_by,
        created_week as week_start,
        created_iso_week as iso_week,
        priority_id,
        assignee_id as agent_id,
        count(*) as tickets_created,
        {{ usercom_tickets.count_if('not is_open') }} as tickets_closed,
        {{ usercom_tickets.count_if('is_open') }} as tickets_open,
        {{ usercom_tickets.count_if('is_overdue') }} as tickets_overdue,
        {{ usercom_tickets.count_if('is_sla_breached') }} as tickets_breached,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.5) }} as median_resolution_hours,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.9) }} as p90_resolution_hours,
        {%- if usercom_tickets.has_business_hours() %}
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.5) }} as median_resolution_business_hours,
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.9) }} as p90_resolution_business_hours,
        {%- else %}
        cast(null as {{ usercom_tickets.type_double() }}) as median_resolution_business_hours,
        cast(null as {{ usercom_tickets.type_double() }}) as p90_resolution_business_hours,
        {%- endif %}
        {{ usercom_tickets.on_time_rate('closed_on_time') }} as on_time_rate,
        {{ usercom_tickets.breach_rate('is_sla_breached', 'is_sla_active') }} as breach_rate,
        {{ usercom_tickets.reopen_rate('reopen_count', 'first_closed_at') }} as reopen_rate
    from tickets
    group by grouping sets (
        (created_week, created_iso_week, priority_id),
        (created_week, created_iso_week, assignee_id)
    )

)

select * from weekly
