-- One row per observed version of a ticket (the pipeline's SCD2 table): what the ticket looked like
-- from valid_from until valid_to (null: still current).

with

source as (

    select * from analytics.src_tickets_history

),

renamed as (

    select
        cast(id as bigint) as ticket_id,
        cast(updated_at as timestamptz) as updated_at,
        lower(trim(status)) as status,
        cast(assigned_to__id as bigint) as assignee_id,
        assigned_to__name as assignee_name,
        cast(priority__id as bigint) as priority_id,
        priority__name as priority_name,
        cast(due_date as timestamptz) as due_date,
        cast(valid_from as timestamptz) as valid_from,
        cast(valid_to as timestamptz) as valid_to

    from source
    where id is not null

),

deduplicated as (

    select * from renamed
    qualify row_number() over (
        partition by ticket_id, valid_from
        order by updated_at desc nulls last
    ) = 1

)

select * from deduplicated
