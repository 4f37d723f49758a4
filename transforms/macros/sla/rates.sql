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
