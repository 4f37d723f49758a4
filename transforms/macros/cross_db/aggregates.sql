{#- Aggregates that differ by warehouse. DuckDB keeps its own (faster) functions; default__ is plain
    SQL that PostgreSQL, Redshift and Snowflake run (BigQuery and Databricks: written, not tested). -#}

{#- Rows for which a condition holds (0 for none). -#}
{% macro count_if(condition) -%}
    {{ return(adapter.dispatch('count_if', 'usercom_tickets')(condition)) }}
{%- endmacro %}
{% macro duckdb__count_if(condition) %}cast(count_if({{ condition }}) as bigint){% endmacro %}
{% macro default__count_if(condition) %}cast(count(case when {{ condition }} then 1 end) as {{ dbt.type_bigint() }}){% endmacro %}


{#- True when the condition holds for some row of the group. -#}
{% macro bool_or(condition) -%}
    {{ return(adapter.dispatch('bool_or', 'usercom_tickets')(condition)) }}
{%- endmacro %}
{% macro default__bool_or(condition) %}bool_or({{ condition }}){% endmacro %}
{% macro snowflake__bool_or(condition) %}boolor_agg({{ condition }}){% endmacro %}
{% macro bigquery__bool_or(condition) %}logical_or({{ condition }}){% endmacro %}


{#- `value` at the row with the greatest (arg_max) or least (arg_min) `order_by`, over the rows where
    both are not null; callers make `order_by` unique within the group. -#}
{% macro arg_max(value, order_by) -%}
    {{ return(adapter.dispatch('arg_max', 'usercom_tickets')(value, order_by, 'desc')) }}
{%- endmacro %}
{% macro arg_min(value, order_by) -%}
    {{ return(adapter.dispatch('arg_max', 'usercom_tickets')(value, order_by, 'asc')) }}
{%- endmacro %}
{% macro duckdb__arg_max(value, order_by, direction) -%}
    {{ 'arg_max' if direction == 'desc' else 'arg_min' }}({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}
{% macro default__arg_max(value, order_by, direction) -%}
    (array_agg({{ value }} order by {{ order_by }} {{ direction }})
        filter (where {{ value }} is not null and {{ order_by }} is not null))[1]
{%- endmacro %}
{% macro snowflake__arg_max(value, order_by, direction) -%}
    {{ 'max_by' if direction == 'desc' else 'min_by' }}({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}
{#- Spark, and Databricks (dbt-databricks dispatches to spark__) -#}
{% macro spark__arg_max(value, order_by, direction) -%}
    {{ 'max_by' if direction == 'desc' else 'min_by' }}({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}
{% macro bigquery__arg_max(value, order_by, direction) -%}
    array_agg({{ value }} ignore nulls order by {{ order_by }} {{ direction }} limit 1)[safe_offset(0)]
{%- endmacro %}


{#- The continuous (interpolated) percentile of a column, e.g. 0.5 for the median. -#}
{% macro percentile(column, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'usercom_tickets')(column, fraction)) }}
{%- endmacro %}
{% macro duckdb__percentile(column, fraction) %}quantile_cont({{ column }}, {{ fraction }}){% endmacro %}
{% macro default__percentile(column, fraction) %}percentile_cont({{ fraction }}) within group (order by {{ column }}){% endmacro %}
