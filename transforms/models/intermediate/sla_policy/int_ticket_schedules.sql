-- One row per ticket: the business-hours schedule it runs on, by the policy's schedule rules (var
-- usercom_schedule_rules, in order: the first rule whose every condition the ticket meets picks its
-- schedule; none, the default, schedule_id 0). A rule matches on the priority's name (case-insensitive),
-- the company id, a segment's name (case-insensitive) or a custom attribute column (attributes__*, as
-- text; an attribute the raw tickets lack yet matches no ticket). Built only with several schedules.

{{ config(enabled=usercom_tickets.has_several_schedules()) }}

{%- set schedules = usercom_tickets.business_schedules() %}

{% if schedules | length > 1 -%}

{%- set ids = {} %}
{%- for schedule in schedules %}{% do ids.update({schedule['name']: schedule['id']}) %}{% endfor %}
{%- set rules = var('usercom_schedule_rules', []) or [] %}
{%- set attributes = [] %}
{%- set ns = namespace(segments=false) %}
{%- for rule in rules %}
    {%- if rule.get('schedule') not in ids %}
        {{ exceptions.raise_compiler_error("var usercom_schedule_rules: schedule '" ~ rule.get('schedule') ~ "' is not one of " ~ (ids.keys() | join(', '))) }}
    {%- endif %}
    {%- for key in rule if key != 'schedule' %}
        {%- if key.startswith('attributes__') %}
            {%- if key not in attributes %}{% do attributes.append(key) %}{% endif %}
        {%- elif key == 'segment' %}
            {%- set ns.segments = true %}
        {%- elif key not in ['priority', 'company_id'] %}
            {{ exceptions.raise_compiler_error("var usercom_schedule_rules: unknown match key '" ~ key ~ "'; match on priority, company_id, segment or an attributes__ column") }}
        {%- endif %}
    {%- endfor %}
{%- endfor %}

{%- set text = dbt.type_string() %}

with

tickets as (

    select ticket_id, priority_name, company_id
    from {{ ref('stg_tickets') }}

),
{%- if attributes %}

-- the newest raw row of each ticket, as stg_tickets picks it, for its custom attributes
{%- set attribute_columns = {'id': dbt.type_bigint(), 'updated_at': usercom_tickets.type_timestamptz(), '_dlt_load_id': text} %}
{%- for name in attributes %}{% do attribute_columns.update({name: text}) %}{% endfor %}
{%- set raw_attributes %}
    {{ usercom_tickets.select_raw_columns('tickets', attribute_columns) }}
{%- endset %}

attributes as (

    {{ usercom_tickets.one_row_per_key(
        raw_attributes, ['id'], 'updated_at desc nulls last, _dlt_load_id desc nulls last', 'id is not null'
    ) }}

),
{%- endif %}
{%- if ns.segments %}

{%- set raw_segments %}
    {{ usercom_tickets.select_raw_columns('tickets__segments', {'ticket_id': dbt.type_bigint(), 'name': text}) }}
{%- endset %}

segments as (

    select distinct ticket_id, lower(trim(name)) as segment_name
    from ({{ raw_segments }}) as raw_segments
    where ticket_id is not null

),
{%- endif %}

picked as (

    select
        tickets.ticket_id,
        {%- if not rules %}
        0 as schedule_id
        {%- else %}
        case
        {%- for rule in rules %}
            when {% for key, values in rule.items() if key != 'schedule' -%}
            {%- if key == 'priority' -%}
            lower(tickets.priority_name) in ({% for v in values %}{{ dbt.string_literal(v | lower) }}{{ ", " if not loop.last }}{% endfor %})
            {%- elif key == 'company_id' -%}
            tickets.company_id in ({% for v in values %}{{ v | int }}{{ ", " if not loop.last }}{% endfor %})
            {%- elif key == 'segment' -%}
            exists (
                select 1 from segments
                where segments.ticket_id = tickets.ticket_id
                    and segments.segment_name in ({% for v in values %}{{ dbt.string_literal(v | lower) }}{{ ", " if not loop.last }}{% endfor %})
            )
            {%- else -%}
            attributes.{{ adapter.quote(key) }} in ({% for v in values %}{{ dbt.string_literal(v | string) }}{{ ", " if not loop.last }}{% endfor %})
            {%- endif %}{{ " and " if not loop.last }}
            {%- endfor %} then {{ ids[rule['schedule']] }}
        {%- endfor %}
            else 0
        end as schedule_id
        {%- endif %}
    from tickets
    {%- if attributes %}
    left join attributes on attributes.id = tickets.ticket_id
    {%- endif %}

)

select
    ticket_id,
    cast(schedule_id as {{ dbt.type_int() }}) as schedule_id,
    {{ usercom_tickets.schedule_name('schedule_id') }} as schedule_name
from picked

{%- endif %}
