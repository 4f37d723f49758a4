-- One row per ticket: its current state, renamed and typed; the newest version wins when a ticket
-- was loaded more than once. deleted_at: when the pipeline marked it deleted (null while live, and
-- in databases loaded before the column existed). The custom attributes the policy lists (ticket_attributes)
-- follow, cast to their type; a null for each one no ticket had yet.

{%- set bigint = dbt.type_bigint() %}
{%- set text = dbt.type_string() %}
{%- set instant = usercom_tickets.type_timestamptz() %}

{%- set attributes = usercom_tickets.ticket_attributes() %}
{%- set columns = {
    'id': bigint, 'status': text, 'name': text, 'custom_id': text,
    'created_at': instant, 'updated_at': instant, 'due_date': instant,
    'assigned_to__id': bigint, 'assigned_to__name': text, 'assigned_to__avatar': text,
    'author__id': bigint, 'author__name': text, 'author__avatar': text,
    'priority__id': bigint, 'priority__name': text, 'priority__order': bigint,
    'person__id': bigint, 'company__id': bigint, 'company__name': text, 'deleted_at': instant, '_dlt_load_id': text,
} %}
{%- for attribute in attributes %}
    {%- do columns.update({attribute['name']: attribute['data_type']}) %}
{%- endfor %}

{%- set raw_tickets %}
    {{ usercom_tickets.select_raw_columns('tickets', columns, required=true) }}
{%- endset %}

with

source as (

    {{ usercom_tickets.one_row_per_key(
        raw_tickets, ['id'], 'updated_at desc nulls last, _dlt_load_id desc nulls last', 'id is not null'
    ) }}

),

renamed as (

    select
        id as ticket_id,
        lower(trim(status)) as status,
        name as ticket_name,
        custom_id,
        created_at,
        updated_at,
        due_date,
        assigned_to__id as assignee_id,
        assigned_to__name as assignee_name,
        assigned_to__avatar as assignee_avatar,
        author__id as author_id,
        author__name as author_name,
        author__avatar as author_avatar,
        priority__id as priority_id,
        priority__name as priority_name,
        priority__order as priority_order,
        person__id as person_id,
        company__id as company_id,
        company__name as company_name,
        deleted_at,
        _dlt_load_id as load_id
        {%- for attribute in attributes %},
        {{ adapter.quote(attribute['name']) }}
        {%- endfor %}
    from source

)

select * from renamed
