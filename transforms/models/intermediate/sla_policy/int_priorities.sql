-- One row per priority seen on any ticket or ticket version, plus the member -1 for tickets without
-- a priority: its latest name and order, and its SLA target from the policy. Inlined into
-- dim_priorities (ephemeral), which the other models read.

{{ config(materialized='ephemeral') }}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

targets as (

    select * from {{ ref('int_sla_targets') }}

),

sightings as (

    select priority_id, priority_name, cast(null as {{ dbt.type_bigint() }}) as priority_order, updated_at
    from {{ ref('int_ticket_versions') }}
    where priority_id is not null
    union all
    select priority_id, priority_name, priority_order, updated_at
    from {{ ref('stg_tickets') }}
    where priority_id is not null

),

priorities as (

    select
        priority_id,
        {{ usercom_tickets.arg_max('priority_name', 'updated_at') }} as priority_name,
        {{ usercom_tickets.arg_max('priority_order', 'updated_at') }} as priority_order
    from sightings
    group by priority_id

),

with_no_priority as (

    select priority_id, priority_name, priority_order from priorities
    union all
    select
        cast(-1 as {{ dbt.type_bigint() }}),
        cast('(no priority)' as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_bigint() }})

),

with_targets as (

    select
        with_no_priority.priority_id,
        with_no_priority.priority_name,
        with_no_priority.priority_order,
        coalesce(targets.target_hours, policy.default_target_hours) as sla_target_hours,
        targets.target_hours is null as uses_default_target
    from with_no_priority
    cross join policy
    left join targets
        on targets.priority_name_key = lower(trim(with_no_priority.priority_name))
        and with_no_priority.priority_id <> -1

)

select * from with_targets
