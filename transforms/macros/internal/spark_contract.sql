{#- The marts' contracts name PostgreSQL's types (text, double precision, timestamp with time zone), which
    Spark's parser does not know: on Spark the contract's empty-schema query (what the built columns are
    checked against) casts to Spark's names for the same types. An override of dbt's macro, so it applies
    when this project is the root project (usercom-tickets' builds; docs/spark.md for a project of your own). -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set spark_columns = {} -%}
    {%- for name, column in columns.items() -%}
        {%- do spark_columns.update({name: dict(column, data_type=usercom_tickets.spark_type(column.get('data_type')))}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(spark_columns)) }}
{% endmacro %}

{% macro spark_type(data_type) -%}
    {%- set names = {'text': 'string', 'double precision': 'double', 'timestamp with time zone': 'timestamp',
                     'integer': 'int'} -%}
    {{ return(names.get((data_type or '') | lower | trim, data_type)) }}
{%- endmacro %}
