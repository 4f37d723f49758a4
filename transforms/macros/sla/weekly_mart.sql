{#- A weekly SLA mart: the rows of int_sla_weekly grouped by one dimension, named from its dim model.
    `grouped_by` is 'priority' or 'agent'; `id_column`, `name_column` the mart's key and name columns. -#}
{% macro weekly_sla_mart(grouped_by, dimension_model, id_column, name_column) %}

with

dimension as (

    select {{ id_column }}, {{ name_column }} from {{ ref(dimension_model) }}

),

weekly as (

    select * from {{ ref('int_sla_weekly') }}
    where grouped_by = '{{ grouped_by }}'

),

named as (

    select
        weekly.week_start,
        weekly.iso_week,
        weekly.{{ id_column }},
        dimension.{{ name_column }},
        weekly.tickets_created,
        weekly.tickets_closed,
        weekly.tickets_open,
        weekly.tickets_overdue,
        weekly.tickets_breached,
        weekly.median_resolution_hours,
        weekly.p90_resolution_hours,
        weekly.median_resolution_business_hours,
        weekly.p90_resolution_business_hours,
        weekly.on_time_rate,
        weekly.breach_rate,
        weekly.reopen_rate
    from weekly
    left join dimension on dimension.{{ id_column }} = weekly.{{ id_column }}

)

select * from named

{% endmacro %}
