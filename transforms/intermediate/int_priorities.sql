-- One row per priority seen on any ticket or ticket version, plus the member -1 for tickets without
-- a priority: its latest name and order, and its SLA target from the policy.

with

policy as (

    select * from analytics.policy

),

targets as (

    select * from analytics.policy_targets

),

sightings as (

    select priority_id, priority_name, null::bigint as priority_order, updated_at
    from analytics.int_ticket_versions
    where priority_id is not null
    union all
    select priority_id, priority_name, priority_order, updated_at
    from analytics.stg_tickets
    where priority_id is not null

),

priorities as (

    select
        priority_id,
        arg_max(priority_name, updated_at) filter (where priority_name is not null) as priority_name,
        arg_max(priority_order, updated_at) filter (where priority_order is not null) as priority_order
    from sightings
    group by priority_id

),

with_no_priority as (

    select * from priorities
    union all
    select -1, '(no priority)', null

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
