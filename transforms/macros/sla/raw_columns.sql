{#- Selects the given columns of a raw table, a typed null for each column the table lacks, and no
    row at all when the table does not exist yet.

    The pipeline creates a column only once some ticket had a value for it (no ticket with a company:
    no company__id) and a child table only once some ticket had a row for it, so staging cannot name
    raw columns directly. `columns` maps each column to its type. The table `tickets` is required:
    without it there is nothing to build. -#}
{% macro select_raw_columns(table_name, columns, required=false) -%}
    {%- set raw = source('usercom', table_name) -%}
    {%- set present = [] -%}
    {%- set relation = none -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(database=raw.database, schema=raw.schema, identifier=raw.identifier) -%}
        {%- if relation is none and required -%}
            {{ exceptions.raise_compiler_error("raw table " ~ raw.schema ~ "." ~ raw.identifier ~ " not found: run the pipeline first (usercom-tickets run), or set the var usercom_schema to where it loads") }}
        {%- endif -%}
        {%- if relation is not none -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif %}
    select
    {%- for name, data_type in columns.items() %}
        {% if name in present -%}
            cast({{ adapter.quote(name) }} as {{ data_type }})
        {%- else -%}
            cast(null as {{ data_type }})
        {%- endif %} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if relation is not none -%}
    from {{ raw }}
    {%- else -%}
    from (select 1 as no_rows) as empty_table where 1 = 0
    {%- endif %}
{%- endmacro %}

{#- The custom attribute columns to carry into fct_tickets (var usercom_ticket_attributes: name, data_type,
    description each), checked: transforms/ticket_attributes.py checks the policy's file the same way. -#}
{% macro ticket_attributes() -%}
    {%- set attributes = var('usercom_ticket_attributes', []) or [] -%}
    {%- set types = ['text', 'bigint', 'double precision', 'boolean', 'date', 'timestamp with time zone'] -%}
    {%- for attribute in attributes -%}
        {%- if attribute is not mapping or not (attribute.get('name') or '').startswith('attributes__')
              or attribute.get('data_type') not in types -%}
            {{ exceptions.raise_compiler_error("var usercom_ticket_attributes: " ~ attribute ~ " is not a custom attribute column: give name (attributes__ and the attribute, as in usercom.tickets), data_type (one of " ~ types | join(', ') ~ ") and description") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(attributes) }}
{%- endmacro %}

{#- fct_tickets' post-hook: each custom attribute column's description as its comment (the contract's yml
    cannot list them, so persist_docs does not). -#}
{% macro comment_ticket_attributes() -%}
    {%- for attribute in usercom_tickets.ticket_attributes() -%}
        comment on column {{ this }}.{{ adapter.quote(attribute['name']) }} is {{ dbt.string_literal(attribute.get('description') or '') }};
    {%- endfor -%}
{%- endmacro %}
