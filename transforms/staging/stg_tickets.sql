-- One row per ticket: its current state, renamed and typed; the newest version wins when a ticket
-- was loaded more than once.

with

source as (

    select * from analytics.src_tickets

),

renamed as (

    select
        cast(id as bigint) as ticket_id,
        lower(trim(status)) as status,
        name as ticket_name,
        custom_id,
        cast(created_at as timestamptz) as created_at,
        cast(updated_at as timestamptz) as updated_at,
        cast(due_date as timestamptz) as due_date,
        cast(assigned_to__id as bigint) as assignee_id,
        assigned_to__name as assignee_name,
        assigned_to__avatar as assignee_avatar,
        cast(author__id as bigint) as author_id,
        author__name as author_name,
        author__avatar as author_avatar,
        cast(priority__id as bigint) as priority_id,
        priority__name as priority_name,
        cast(priority__order as bigint) as priority_order,
        cast(person__id as bigint) as person_id,
        cast(company__id as bigint) as company_id,
        _dlt_load_id as load_id

    from source
    where id is not null

),

deduplicated as (

    select * from renamed
    qualify row_number() over (
        partition by ticket_id
        order by updated_at desc nulls last, load_id desc nulls last
    ) = 1

)

select * from deduplicated
