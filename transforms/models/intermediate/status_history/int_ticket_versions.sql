-- One row per ticket x version seen: the versions in tickets_history plus each ticket's current row
-- (which history may not have caught up with), numbered oldest first; one window pass.

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

-- of versions sharing an updated_at, the current row wins, else the latest valid_from: the first of
-- its updated_at in this order
ordered as (

    select
        versions.*,
        lag(updated_at) over (
            partition by ticket_id
            order by updated_at, is_current_row desc, valid_from desc nulls last
        ) as previous_updated_at,
        dense_rank() over (partition by ticket_id order by updated_at) as version_seq
    from versions
    where updated_at is not null

)

select
    ticket_id,
    version_seq,
    updated_at,
    status,
    assignee_id,
    assignee_name,
    priority_id,
    priority_name,
    is_current_row
from ordered
where previous_updated_at is null or previous_updated_at <> updated_at
