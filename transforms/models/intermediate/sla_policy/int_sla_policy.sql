-- One row: the instant every time-dependent metric is computed for (as_of), its UTC day, and the
-- default SLA target, from the project's vars. Models never read the wall clock but through this.

select
    {{ usercom_tickets.as_of() }} as as_of,
    {{ usercom_tickets.utc_date(usercom_tickets.as_of()) }} as as_of_date,
    cast({{ var('usercom_default_target_hours') }} as {{ usercom_tickets.type_double() }}) as default_target_hours
