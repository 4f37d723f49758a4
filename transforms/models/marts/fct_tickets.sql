-- One row per ticket created up to as_of: its state at as_of, when it closed (in calendar hours and, with
-- a schedule, business hours), how long it spent in each status, and where it stands against its due
-- date and its priority's SLA target (on the policy's sla_clock). A ticket deleted in User.com by as_of
-- stays, flagged (is_deleted); its other columns are as last listed. The custom attributes the policy lists
-- (ticket_attributes) come last, typed by the user's yml; a yml contract cannot name them, so with any
-- listed the contract is not enforced, and their descriptions become the columns' comments (post-hook).

{%- set attributes = usercom_tickets.ticket_attributes() %}
{{ config(contract={'enforced': attributes | length == 0}, post_hook=usercom_tickets.comment_ticket_attributes()) }}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

-- the tickets created up to as_of with a known status: those with a summary
summaries as (

    select * from {{ ref('int_ticket_summary') }}

),

tickets as (

    select * from {{ ref('stg_tickets') }}

),

priorities as (

    select priority_id, sla_target_hours from {{ ref('dim_priorities') }}

),

joined as (

    select
        tickets.ticket_id,
        tickets.custom_id,
        tickets.ticket_name,
        summaries.status,
        not coalesce({{ usercom_tickets.is_terminal('summaries.status') }}, false) as is_open,
        coalesce(tickets.priority_id, -1) as priority_id,
        coalesce(summaries.created_priority_id, tickets.priority_id, -1) as priority_at_creation_id,
        created_priorities.sla_target_hours as sla_target_hours_at_creation,
        coalesce(tickets.assignee_id, -1) as assignee_id,
        coalesce(tickets.author_id, -1) as author_id,
        tickets.person_id,
        tickets.company_id,
        tickets.created_at,
        tickets.updated_at,
        greatest(
            tickets.created_at,
            coalesce(summaries.last_version_at, tickets.created_at),
            coalesce(summaries.last_status_change_at, tickets.created_at)
        ) as last_updated_at,
        tickets.due_date,
        tickets.deleted_at,
        summaries.first_closed_at,
        summaries.last_closed_at,
        summaries.closed_at_source,
        summaries.reopen_count,
        summaries.hours_in_active,
        summaries.hours_in_draft,
        summaries.hours_in_closed,
        summaries.hours_in_archived,
        summaries.sla_target_hours,
        summaries.sla_breach_at,
        summaries.schedule_id,
        summaries.created_business_clock_us,
        summaries.first_closed_business_clock_us,
        summaries.last_closed_business_clock_us,
        {%- for attribute in attributes %}
        tickets.{{ adapter.quote(attribute['name']) }},
        {%- endfor %}
        policy.as_of
    from summaries
    cross join policy
    inner join tickets on tickets.ticket_id = summaries.ticket_id
    left join priorities as created_priorities
        on created_priorities.priority_id = coalesce(summaries.created_priority_id, tickets.priority_id, -1)

),

metrics as (

    select
        ticket_id,
        custom_id,
        ticket_name,
        status,
        is_open,
        coalesce(deleted_at <= as_of, false) as is_deleted,
        case when deleted_at <= as_of then deleted_at end as deleted_at,
        priority_id,
        priority_at_creation_id,
        assignee_id,
        author_id,
        person_id,
        company_id,
        created_at,
        {{ usercom_tickets.utc_week_start('created_at') }} as created_week,
        {{ usercom_tickets.utc_iso_week('created_at') }} as created_iso_week,
        updated_at,
        last_updated_at,
        due_date,

        first_closed_at,
        last_closed_at,
        closed_at_source,
        {{ usercom_tickets.hours_between('created_at', 'first_closed_at') }} as first_resolution_hours,
        case when not is_open then {{ usercom_tickets.hours_between('created_at', 'last_closed_at') }} end
            as full_resolution_hours,
        {{ usercom_tickets.microseconds_to_hours('first_closed_business_clock_us - created_business_clock_us') }}
            as first_resolution_business_hours,
        case when not is_open then
            {{ usercom_tickets.microseconds_to_hours('last_closed_business_clock_us - created_business_clock_us') }}
        end as full_resolution_business_hours,
        {{ usercom_tickets.schedule_name('schedule_id') }} as business_schedule,
        reopen_count,

        hours_in_active,
        hours_in_draft,
        hours_in_closed,
        hours_in_archived,

        due_date is not null as has_due_date,
        {{ usercom_tickets.hours_between('created_at', 'due_date') }} as due_target_hours,
        first_closed_at <= due_date as closed_on_time,
        {{ usercom_tickets.hours_between('due_date', 'first_closed_at') }} as due_variance_hours,
        coalesce(is_open and due_date < as_of, false) as is_overdue,
        case when is_open then {{ usercom_tickets.hours_between('as_of', 'due_date') }} end as hours_to_due,
        coalesce(is_open and due_date >= as_of and due_date <= {{ dbt.dateadd('hour', 24, 'as_of') }}, false)
            as due_soon,

        sla_target_hours,
        sla_target_hours_at_creation,
        sla_breach_at,
        coalesce(first_closed_at > sla_breach_at, false)
            or coalesce(is_open and sla_breach_at < as_of, false) as is_sla_breached,

        {%- for attribute in attributes %}
        {{ adapter.quote(attribute['name']) }},
        {%- endfor %}
        case when is_open then {{ usercom_tickets.hours_between('created_at', 'as_of') }} end as open_age_hours,
        {{ usercom_tickets.hours_between('last_updated_at', 'as_of') }} as hours_since_update

    from joined

),

final as (

    select
        ticket_id,
        custom_id,
        ticket_name,
        status,
        is_open,
        is_deleted,
        deleted_at,
        priority_id,
        assignee_id,
        author_id,
        person_id,
        company_id,
        created_at,
        created_week,
        created_iso_week,
        updated_at,
        last_updated_at,
        due_date,
        first_closed_at,
        last_closed_at,
        closed_at_source,
        first_resolution_hours,
        full_resolution_hours,
        first_resolution_business_hours,
        full_resolution_business_hours,
        business_schedule,
        reopen_count,
        hours_in_active,
        hours_in_draft,
        hours_in_closed,
        hours_in_archived,
        has_due_date,
        due_target_hours,
        closed_on_time,
        due_variance_hours,
        is_overdue,
        hours_to_due,
        due_soon,
        sla_target_hours,
        sla_breach_at,
        is_sla_breached,
        is_open and not is_sla_breached as is_sla_active,
        open_age_hours,
        hours_since_update,
        case
            when open_age_hours < 24 then '<1d'
            when open_age_hours < 72 then '1-3d'
            when open_age_hours < 168 then '3-7d'
            when open_age_hours < 720 then '7-30d'
            when open_age_hours >= 720 then '>30d'
        end as age_bucket,
        priority_at_creation_id,
        sla_target_hours_at_creation
        {%- for attribute in attributes %},
        {{ adapter.quote(attribute['name']) }}
        {%- endfor %}
    from metrics

)

select * from final
