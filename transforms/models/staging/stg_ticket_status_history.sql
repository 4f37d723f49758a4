-- One row per ticket x status_history entry (each time the ticket entered a status), as the API
-- listed them; entries without a time or status cannot be placed and are left out.

with

source as (

    {{ usercom_tickets.select_raw_columns('tickets__status_history', {
        'ticket_id': dbt.type_bigint(), 'position': dbt.type_bigint(),
        'entered_at': usercom_tickets.type_timestamptz(), 'status': dbt.type_string(),
    }) }}

),

renamed as (

    select
        ticket_id,
        {{ adapter.quote('position') }} as entry_position,
        entered_at,
        lower(trim(status)) as status,
        row_number() over (
            partition by ticket_id, {{ adapter.quote('position') }}
            order by entered_at desc, lower(trim(status))
        ) as entry_rank

    from source
    where ticket_id is not null
        and entered_at is not null
        and status is not null

)

select
    ticket_id,
    entry_position,
    entered_at,
    status
from renamed
where entry_rank = 1
