{#- Type names that differ by warehouse. -#}

{#- A double-precision float (dbt.type_float() is single precision on some warehouses). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'usercom_tickets')()) }}
{%- endmacro %}
{% macro default__type_double() %}double precision{% endmacro %}
{% macro bigquery__type_double() %}float64{% endmacro %}
{#- Spark, and Databricks (dbt-databricks dispatches to spark__) -#}
{% macro spark__type_double() %}double{% endmacro %}


{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz', 'usercom_tickets')()) }}
{%- endmacro %}
{% macro default__type_timestamptz() %}timestamp with time zone{% endmacro %}
{% macro bigquery__type_timestamptz() %}timestamp{% endmacro %}
{% macro spark__type_timestamptz() %}timestamp{% endmacro %}
{% macro snowflake__type_timestamptz() %}timestamp_tz{% endmacro %}
