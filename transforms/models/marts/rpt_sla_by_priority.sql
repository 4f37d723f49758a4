-- One row per priority: the headline SLA table over every ticket created up to as_of and not
-- deleted by then.

with

tickets as (

    select * from {{ ref('fct_tickets') }}
    where not is_deleted

),

priorities as (

    select * from {{ ref('dim_priorities') }}

),

by_priority as (

    select
        priority_id,
        count(*) as tickets_created,
        {{ usercom_tickets.count_if('is_open') }} as tickets_open,
        {{ usercom_tickets.count_if('is_overdue') }} as tickets_overdue,
        {{ usercom_tickets.count_if('not is_open') }} as tickets_closed,
        {{ usercom_tickets.count_if('is_sla_breached') }} as tickets_breached,
        {{ usercom_tickets.on_time_rate('closed_on_time') }} as on_time_rate,
        {{ usercom_tickets.breach_rate('is_sla_breached', 'is_sla_active') }} as breach_rate,
        {{ usercom_tickets.reopen_rate('reopen_count', 'first_closed_at') }} as reopen_rate,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.5) }} as median_resolution_hours,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.9) }} as p90_resolution_hours,
        {%- if usercom_tickets.has_business_hours() %}
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.5) }} as median_resolution_business_hours,
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.9) }} as p90_resolution_business_hours
        {%- else %}
        cast(null as {{ usercom_tickets.type_double() }}) as median_resolution_business_hours,
        cast(null as {{ usercom_tickets.type_double() }}) as p90_resolution_business_hours
        {%- endif %}
    from tickets
    group by priority_id

),

named as (

    select
        priorities.priority_id,
        priorities.priority_name,
        priorities.priority_order,
        priorities.sla_target_hours,
        coalesce(by_priority.tickets_created, 0) as tickets_created,
        coalesce(by_priority.tickets_open, 0) as tickets_open,
        coalesce(by_priority.tickets_overdue, 0) as tickets_overdue,
        coalesce(by_priority.tickets_closed, 0) as tickets_closed,
        coalesce(by_priority.tickets_breached, 0) as tickets_breached,
        by_priority.on_time_rate,
        by_priority.breach_rate,
        by_priority.reopen_rate,
        by_priority.median_resolution_hours,
        by_priority.p90_resolution_hours,
        by_priority.median_resolution_business_hours,
        by_priority.p90_resolution_business_hours
    from priorities
    left join by_priority on by_priority.priority_id = priorities.priority_id

)

select * from named
