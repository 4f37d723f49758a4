{#- Rates shared by the SLA aggregates (aggregate expressions: use them in a grouped select). -#}

{#- Share of tickets closed by their due date, among tickets with a due date that were closed. -#}
{% macro on_time_rate(closed_on_time) -%}
    avg(case when {{ closed_on_time }} then cast(1 as {{ usercom_tickets.type_double() }}) when not {{ closed_on_time }} then cast(0 as {{ usercom_tickets.type_double() }}) end)
{%- endmacro %}

{#- Share of breached tickets among those whose SLA outcome is known (breached, or closed in time). -#}
{% macro breach_rate(is_sla_breached, is_sla_active) -%}
    ({{ usercom_tickets.count_if(is_sla_breached) }} / nullif(cast({{ usercom_tickets.count_if('not ' ~ is_sla_active) }} as {{ usercom_tickets.type_double() }}), 0))
{%- endmacro %}

{#- Share of tickets reopened at least once, among tickets closed at least once. -#}
{% macro reopen_rate(reopen_count, first_closed_at) -%}
    ({{ usercom_tickets.count_if(reopen_count ~ ' > 0') }} / nullif(cast(count({{ first_closed_at }}) as {{ usercom_tickets.type_double() }}), 0))
{%- endmacro %}

{#- The SLA measures of fct_tickets rows in a grouped select (counts, rates, medians and p90s in calendar
    and business hours), as the SLA aggregates name them. -#}
{% macro sla_measures() -%}
        cast(count(*) as {{ dbt.type_bigint() }}) as tickets_created,
        {{ usercom_tickets.count_if('not is_open') }} as tickets_closed,
        {{ usercom_tickets.count_if('is_open') }} as tickets_open,
        {{ usercom_tickets.count_if('is_overdue') }} as tickets_overdue,
        {{ usercom_tickets.count_if('is_sla_breached') }} as tickets_breached,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.5) }} as median_resolution_hours,
        {{ usercom_tickets.percentile('first_resolution_hours', 0.9) }} as p90_resolution_hours,
        {%- if usercom_tickets.has_business_hours() %}
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.5) }} as median_resolution_business_hours,
        {{ usercom_tickets.percentile('first_resolution_business_hours', 0.9) }} as p90_resolution_business_hours,
        {%- else %}
        cast(null as {{ usercom_tickets.type_double() }}) as median_resolution_business_hours,
        cast(null as {{ usercom_tickets.type_double() }}) as p90_resolution_business_hours,
        {%- endif %}
        {{ usercom_tickets.on_time_rate('closed_on_time') }} as on_time_rate,
        {{ usercom_tickets.breach_rate('is_sla_breached', 'is_sla_active') }} as breach_rate,
        {{ usercom_tickets.reopen_rate('reopen_count', 'first_closed_at') }} as reopen_rate
{%- endmacro %}
