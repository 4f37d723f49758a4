-- Durations are never negative: a negative one means a close, a status change or an update that
-- is recorded before the ticket was created (or a ticket created after as_of slipping through).

{%- set ticket_durations = [
    'first_resolution_hours', 'full_resolution_hours', 'hours_in_active', 'hours_in_draft',
    'hours_in_closed', 'hours_in_archived', 'open_age_hours', 'hours_since_update', 'sla_target_hours',
] %}

with

durations as (

    {% for duration in ticket_durations -%}
    select ticket_id, '{{ duration }}' as duration, {{ duration }} as hours from {{ ref('fct_tickets') }}
    union all
    {% endfor -%}
    select ticket_id, 'fct_ticket_status_intervals.hours', hours from {{ ref('fct_ticket_status_intervals') }}

)

select ticket_id, duration, hours
from durations
where hours < 0
