-- One row: the instant every time-dependent metric is computed for (as_of), its UTC day, the default
-- SLA target and the clock the targets run on (with the schedule's time zone), from the project's vars
-- and environment. Models never read the wall clock but through this.

{%- set schedule = usercom_tickets.business_schedule() %}

select
    {{ usercom_tickets.as_of() }} as as_of,
    {{ usercom_tickets.utc_date(usercom_tickets.as_of()) }} as as_of_date,
    cast({{ var('usercom_default_target_hours') }} as {{ usercom_tickets.type_double() }}) as default_target_hours,
    cast({{ dbt.string_literal('business' if usercom_tickets.uses_business_clock() else 'calendar') }} as {{ dbt.type_string() }}) as sla_clock,
    cast({{ dbt.string_literal(schedule['timezone']) if schedule else 'null' }} as {{ dbt.type_string() }}) as business_hours_timezone
