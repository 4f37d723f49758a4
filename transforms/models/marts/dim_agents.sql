-- One row per agent seen anywhere (as a ticket's assignee, now or in an earlier version, or as its
-- author), and -1 for "nobody".

with

sightings as (

    select
        assignee_id as agent_id,
        assignee_name as agent_name,
        cast(null as {{ dbt.type_string() }}) as agent_avatar,
        updated_at as seen_at,
        true as as_assignee,
        false as as_author
    from {{ ref('int_ticket_versions') }}
    where assignee_id is not null

    union all

    select assignee_id, assignee_name, assignee_avatar, updated_at, true, false
    from {{ ref('stg_tickets') }}
    where assignee_id is not null

    union all

    select author_id, author_name, author_avatar, updated_at, false, true
    from {{ ref('stg_tickets') }}
    where author_id is not null

),

agents as (

    select
        agent_id,
        {{ usercom_tickets.arg_max('agent_name', 'seen_at') }} as agent_name,
        {{ usercom_tickets.arg_max('agent_avatar', 'seen_at') }} as agent_avatar,
        {{ usercom_tickets.bool_or('as_assignee') }} as seen_as_assignee,
        {{ usercom_tickets.bool_or('as_author') }} as seen_as_author
    from sightings
    group by agent_id

),

with_nobody as (

    select * from agents
    union all
    select
        cast(-1 as {{ dbt.type_bigint() }}),
        cast('(nobody)' as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        false,
        false

)

select * from with_nobody
