-- One row: the helpdesk at as_of. The backlog then (open, unassigned, overdue, past its SLA target), and
-- what happened in the 7 and 30 days up to as_of (created, closed, reopened, deleted, SLA targets
-- breached), with the build's as_of, SLA clock and start (built_at). The windows are (as_of - 168 h, as_of] and
-- (as_of - 720 h, as_of]: calendar hours, whatever daylight saving does. Closes and reopens count as in
-- rpt_backlog_daily (each one, up to the ticket's deletion); a deleted ticket counts only as deleted.

{%- set windows = {'7': 168, '30': 720} %}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select
        tickets.*,
        {%- for days, hours in windows.items() %}
        tickets.created_at > {{ dbt.dateadd('hour', -hours, 'policy.as_of') }} as created_in_{{ days }}_days,
        {%- endfor %}
        policy.as_of
    from {{ ref('fct_tickets') }} as tickets
    cross join policy

),

at_as_of as (

    select
        {{ usercom_tickets.count_if('is_open and not is_deleted') }} as open_tickets,
        {{ usercom_tickets.count_if('is_open and not is_deleted and assignee_id = -1') }} as unassigned_open_tickets,
        {{ usercom_tickets.count_if('is_overdue and not is_deleted') }} as overdue_tickets,
        {{ usercom_tickets.count_if('is_open and is_sla_breached and not is_deleted') }} as breached_open_tickets,
        {%- for days, hours in windows.items() %}
        {{ usercom_tickets.count_if('created_in_' ~ days ~ '_days') }} as created_last_{{ days }}_days,
        {{ usercom_tickets.count_if('is_deleted and deleted_at > ' ~ dbt.dateadd('hour', -hours, 'as_of')) }}
            as deleted_last_{{ days }}_days,
        {{ usercom_tickets.count_if('is_sla_breached and not is_deleted and sla_breach_at > ' ~ dbt.dateadd('hour', -hours, 'as_of')) }}
            as breached_last_{{ days }}_days{{ "," if not loop.last }}
        {%- endfor %}
    from tickets

),

recent_events as (

    select events.event_at, events.is_closure, events.is_reopen, policy.as_of
    from {{ ref('int_ticket_status_events') }} as events
    inner join tickets on tickets.ticket_id = events.ticket_id
    cross join policy
    where events.event_at > {{ dbt.dateadd('hour', -720, 'policy.as_of') }}
        and (tickets.deleted_at is null or events.event_at < tickets.deleted_at)
        and (events.is_closure or events.is_reopen)

),

flows as (

    select
        {%- for days, hours in windows.items() %}
        {%- set within = 'event_at > ' ~ dbt.dateadd('hour', -hours, 'as_of') %}
        {{ usercom_tickets.count_if('is_closure and ' ~ within) }} as closed_last_{{ days }}_days,
        {{ usercom_tickets.count_if('is_reopen and ' ~ within) }} as reopened_last_{{ days }}_days{{ "," if not loop.last }}
        {%- endfor %}
    from recent_events

)

select
    policy.as_of,
    policy.sla_clock,
    {{ usercom_tickets.built_at() }} as built_at,
    at_as_of.open_tickets,
    at_as_of.unassigned_open_tickets,
    at_as_of.overdue_tickets,
    at_as_of.breached_open_tickets,
    {%- for days in windows %}
    at_as_of.created_last_{{ days }}_days,
    flows.closed_last_{{ days }}_days,
    flows.reopened_last_{{ days }}_days,
    at_as_of.deleted_last_{{ days }}_days,
    at_as_of.breached_last_{{ days }}_days{{ "," if not loop.last }}
    {%- endfor %}
from policy
cross join at_as_of
cross join flows
