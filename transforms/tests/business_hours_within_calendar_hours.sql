-- Business hours are never negative and never more than the calendar hours of the same span, and
-- with a business-hours schedule they are there wherever the calendar hours are (without one they
-- are null everywhere).

{%- set scheduled = usercom_tickets.has_business_hours() %}

with

spans as (

    select
        ticket_id,
        cast(null as {{ dbt.type_bigint() }}) as interval_seq,
        'first_resolution' as span,
        first_resolution_hours as hours,
        first_resolution_business_hours as business_hours
    from {{ ref('fct_tickets') }}
    union all
    select ticket_id, null, 'full_resolution', full_resolution_hours, full_resolution_business_hours
    from {{ ref('fct_tickets') }}
    union all
    select ticket_id, interval_seq, 'status interval', hours, business_hours
    from {{ ref('fct_ticket_status_intervals') }}

)

select ticket_id, interval_seq, span, hours, business_hours
from spans
where business_hours < 0
    or business_hours > hours
    {%- if scheduled %}
    or (business_hours is null and hours is not null)
    {%- endif %}
    or (business_hours is not null and hours is null)
    {%- if not scheduled %}
    or business_hours is not null
    {%- endif %}
