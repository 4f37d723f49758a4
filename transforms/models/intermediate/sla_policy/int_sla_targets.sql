-- One row per priority name the policy lists (lower-cased): its target hours to first close.
-- Inlined into int_priorities (ephemeral).

{{ config(materialized='ephemeral') }}

{%- set targets = var('usercom_target_hours') or {} %}

{% if targets | length == 0 -%}
select
    cast(null as {{ dbt.type_string() }}) as priority_name_key,
    cast(null as {{ usercom_tickets.type_double() }}) as target_hours
from {{ ref('int_sla_policy') }}
where 1 = 0
{%- else -%}
{%- for name, hours in targets.items() %}
select
    {{ dbt.string_literal(name | lower | trim) }} as priority_name_key,
    cast({{ hours }} as {{ usercom_tickets.type_double() }}) as target_hours
{{ "union all" if not loop.last }}
{%- endfor %}
{%- endif %}
