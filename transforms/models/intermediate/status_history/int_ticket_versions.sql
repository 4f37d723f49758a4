-- One row per ticket x version seen: the versions in tickets_history plus each ticket's current row
-- (which history may not have caught up with), numbered oldest first.

with

history_versions as (

    select
        ticket_id,
        updated_at,
        status,
        assignee_id,
        assignee_name,
        priority_id,
        priority_name,
        valid_from,
        false as is_current_row
    from {{ ref('stg_tickets_history') }}

),

current_rows as (

    select
        ticket_id,
        updated_at,
        status,
        assignee_id,
        assignee_name,
        priority_id,
        priority_name,
        cast(null as {{ usercom_tickets.type_timestamptz() }}) as valid_from,
        true as is_current_row
    from {{ ref('stg_tickets') }}

),

versions as (

    select * from history_versions
    union all
    select * from current_rows

),

ranked_per_update as (

    select
        versions.*,
        row_number() over (
            partition by ticket_id, updated_at
            order by is_current_row desc, valid_from desc nulls last
        ) as update_rank
    from versions
    where updated_at is not null

),

numbered as (

    select
        ticket_id,
        row_number() over (
            partition by ticket_id order by updated_at, valid_from nulls last
        ) as version_seq,
        updated_at,
        status,
        assignee_id,
        assignee_name,
        priority_id,
        priority_name,
        is_current_row
    from ranked_per_update
    where update_rank = 1

)

select * from numbered
