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
        {{ usercom_tickets.sla_measures() }}
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
