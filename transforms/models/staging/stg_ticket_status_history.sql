-- One row per ticket x status_history entry (each time the ticket entered a status), as the API
-- listed them; entries without a time or status cannot be placed and are left out.

{%- set raw_entries %}
    {{ usercom_tickets.select_raw_columns('tickets__status_history', {
        'ticket_id': dbt.type_bigint(), 'position': dbt.type_bigint(),
        'entered_at': usercom_tickets.type_timestamptz(), 'status': dbt.type_string(),
    }) }}
{%- endset %}

with

source as (

    {{ usercom_tickets.one_row_per_key(
        raw_entries,
        ['ticket_id', adapter.quote('position')],
        'entered_at desc, lower(trim(status))',
        'ticket_id is not null and entered_at is not null and status is not null',
    ) }}

),

renamed as (

    select
        ticket_id,
        {{ adapter.quote('position') }} as entry_position,
        entered_at,
        lower(trim(status)) as status
    from source

)

select * from renamed
