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
