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
    from analytics.stg_tickets_history

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
        null::timestamptz as valid_from,
        true as is_current_row
    from analytics.stg_tickets

),

versions as (

    select * from history_versions
    union all
    select * from current_rows

),

one_version_per_update as (

    select * from versions
    where updated_at is not null
    qualify row_number() over (
        partition by ticket_id, updated_at
        order by is_current_row desc, valid_from desc nulls last
    ) = 1

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
    from one_version_per_update

)

select * from numbered
