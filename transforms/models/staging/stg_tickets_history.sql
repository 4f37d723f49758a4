-- One row per observed version of a ticket (the pipeline's SCD2 table): what the ticket looked like
-- from valid_from until valid_to (null: still current).

{%- set bigint = dbt.type_bigint() %}
{%- set text = dbt.type_string() %}
{%- set instant = usercom_tickets.type_timestamptz() %}

{%- set raw_versions %}
    {{ usercom_tickets.select_raw_columns('tickets_history', {
        'id': bigint, 'updated_at': instant, 'status': text,
        'assigned_to__id': bigint, 'assigned_to__name': text,
        'priority__id': bigint, 'priority__name': text,
        'due_date': instant, 'valid_from': instant, 'valid_to': instant,
    }) }}
{%- endset %}

with

source as (

    {{ usercom_tickets.one_row_per_key(raw_versions, ['id', 'valid_from'], 'updated_at desc nulls last', 'id is not null') }}

),

renamed as (

    select
        id as ticket_id,
        updated_at,
        lower(trim(status)) as status,
        assigned_to__id as assignee_id,
        assigned_to__name as assignee_name,
        priority__id as priority_id,
        priority__name as priority_name,
        due_date,
        valid_from,
        valid_to
    from source

)

select * from renamed
