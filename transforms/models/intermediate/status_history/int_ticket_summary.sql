-- One row per ticket with a status up to as_of (so per ticket of fct_tickets): what fct_tickets
-- takes from its status intervals and versions, in one aggregate and one join, so the mart joins a
-- single narrow row per ticket. Status at as_of, last change, time in each status; first and last
-- close (entering a terminal status from an open one), where the first close time comes from, and
-- how often it was reopened; the SLA target and breach; the latest version up to as_of and the priority
-- at creation (the first version's); the business clock at creation and at the first and last close and
-- the schedule it runs on (null without a business-hours schedule).
--
-- On the business clock (sla_clock = "business") the breach is the first interval's breach reading
-- turned into an instant here, once per ticket: the first instant the business clock reads it, and
-- never before the interval it falls in began (a target of 0 breaches at creation).

{%- set business = usercom_tickets.uses_business_clock() %}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

intervals as (

    select
        ticket_id,
        interval_seq,
        status,
        entered_at,
        hours,
        is_closure,
        is_reopen,
        case when is_closure then entered_at end as closed_at,
        case when is_closure then source end as closure_source,
        sla_target_hours,
        breach_at,
        breach_clock_us,
        case when breach_clock_us is not null then entered_at end as breach_interval_entered_at,
        schedule_id,
        business_clock_us,
        case when is_closure then business_clock_us end as closed_business_clock_us
    from {{ ref('int_ticket_sla_clock') }}

),

per_ticket as (

    select
        ticket_id,
        {{ usercom_tickets.arg_max('status', 'interval_seq') }} as status,
        max(entered_at) as last_status_change_at,
        coalesce(sum(case when status = 'active' then hours end), 0) as hours_in_active,
        coalesce(sum(case when status = 'draft' then hours end), 0) as hours_in_draft,
        coalesce(sum(case when status = 'closed' then hours end), 0) as hours_in_closed,
        coalesce(sum(case when status = 'archived' then hours end), 0) as hours_in_archived,
        {{ usercom_tickets.arg_min('closed_at', 'interval_seq') }} as first_closed_at,
        {{ usercom_tickets.arg_max('closed_at', 'interval_seq') }} as last_closed_at,
        {{ usercom_tickets.arg_min('closure_source', 'interval_seq') }} as closed_at_source,
        {{ usercom_tickets.count_if('is_closure') }} as close_count,
        {{ usercom_tickets.count_if('is_reopen') }} as reopen_count,
        min(sla_target_hours) as sla_target_hours,
        min(schedule_id) as schedule_id,
        {%- if business %}
        {{ usercom_tickets.arg_min('breach_clock_us', 'interval_seq') }} as sla_breach_clock_us,
        {{ usercom_tickets.arg_min('breach_interval_entered_at', 'interval_seq') }} as sla_breach_not_before,
        {%- else %}
        {{ usercom_tickets.arg_min('breach_at', 'interval_seq') }} as sla_breach_at,
        {%- endif %}
        {%- if usercom_tickets.has_business_hours() %}
        {{ usercom_tickets.arg_min('business_clock_us', 'interval_seq') }} as created_business_clock_us,
        {{ usercom_tickets.arg_min('closed_business_clock_us', 'interval_seq') }} as first_closed_business_clock_us,
        {{ usercom_tickets.arg_max('closed_business_clock_us', 'interval_seq') }} as last_closed_business_clock_us
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as created_business_clock_us,
        cast(null as {{ dbt.type_bigint() }}) as first_closed_business_clock_us,
        cast(null as {{ dbt.type_bigint() }}) as last_closed_business_clock_us
        {%- endif %}
    from intervals
    group by ticket_id

),
{%- if business %}

breach_instants as (

    {{ usercom_tickets.with_business_instant('per_ticket', 'sla_breach_clock_us', 'breach_clock_reached_at') }}

),

per_ticket_breaches as (

    select
        breach_instants.*,
        case
            when breach_clock_reached_at is null then sla_breach_not_before
            when breach_clock_reached_at < sla_breach_not_before then sla_breach_not_before
            else breach_clock_reached_at
        end as sla_breach_at
    from breach_instants

),
{%- endif %}

-- the latest version up to as_of; the priority of the first version seen, the one at creation (-1: none)
last_versions as (

    select
        versions.ticket_id,
        max(case when versions.updated_at <= policy.as_of then versions.updated_at end) as last_version_at,
        min(case when versions.version_seq = 1 then coalesce(versions.priority_id, -1) end) as created_priority_id
    from {{ ref('int_ticket_versions') }} as versions
    cross join policy
    group by versions.ticket_id

)

{%- set tickets = 'per_ticket_breaches' if business else 'per_ticket' %}

select
    {{ tickets }}.ticket_id,
    {{ tickets }}.status,
    {{ tickets }}.last_status_change_at,
    {{ tickets }}.hours_in_active,
    {{ tickets }}.hours_in_draft,
    {{ tickets }}.hours_in_closed,
    {{ tickets }}.hours_in_archived,
    {{ tickets }}.first_closed_at,
    {{ tickets }}.last_closed_at,
    {{ tickets }}.closed_at_source,
    {{ tickets }}.close_count,
    {{ tickets }}.reopen_count,
    {{ tickets }}.sla_target_hours,
    {{ tickets }}.sla_breach_at,
    {{ tickets }}.schedule_id,
    {{ tickets }}.created_business_clock_us,
    {{ tickets }}.first_closed_business_clock_us,
    {{ tickets }}.last_closed_business_clock_us,
    last_versions.last_version_at,
    last_versions.created_priority_id
from {{ tickets }}
left join last_versions on last_versions.ticket_id = {{ tickets }}.ticket_id
