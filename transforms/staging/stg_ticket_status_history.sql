-- One row per ticket x status_history entry (each time the ticket entered a status), as the API
-- listed them; entries without a time or status cannot be placed and are left out.

with

source as (

    select * from analytics.src_tickets__status_history

),

renamed as (

    select
        cast(ticket_id as bigint) as ticket_id,
        cast(position as bigint) as position,
        cast(entered_at as timestamptz) as entered_at,
        lower(trim(status)) as status

    from source
    where ticket_id is not null
        and entered_at is not null
        and status is not null

),

deduplicated as (

    select * from renamed
    qualify row_number() over (
        partition by ticket_id, position
        order by entered_at desc, status
    ) = 1

)

select * from deduplicated
