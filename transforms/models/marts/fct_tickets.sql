-- One row per ticket created up to as_of: its state at as_of, when it closed, how long it spent in
-- each status, and where it stands against its due date and its priority's SLA target.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select tickets.*
    from {{ ref('stg_tickets') }} as tickets
    cross join policy
    where tickets.created_at <= policy.as_of

),

closures as (

    select * from {{ ref('int_ticket_closures') }}

),

sla_clocks as (

    select * from {{ ref('int_ticket_sla_clock') }}

),

status_times as (

    select
        ticket_id,
        {{ usercom_tickets.arg_max('status', 'interval_seq') }} as status,
        max(entered_at) as last_status_change_at,
        coalesce(sum(case when status = 'active' then hours end), 0) as hours_in_active,
        coalesce(sum(case when status = 'draft' then hours end), 0) as hours_in_draft,
        coalesce(sum(case when status = 'closed' then hours end), 0) as hours_in_closed,
        coalesce(sum(case when status = 'archived' then hours end), 0) as hours_in_archived
    from {{ ref('int_ticket_status_intervals') }}
    group by ticket_id

),

last_versions as (

    select versions.ticket_id, max(versions.updated_at) as last_version_at
    from {{ ref('int_ticket_versions') }} as versions
    cross join policy
    where versions.updated_at <= policy.as_of
    group by versions.ticket_id

),

joined as (

    select
        tickets.ticket_id,
        tickets.custom_id,
        tickets.ticket_name,
        status_times.status,
        not coalesce({{ usercom_tickets.is_terminal('status_times.status') }}, false) as is_open,
        coalesce(tickets.priority_id, -1) as priority_id,
        coalesce(tickets.assignee_id, -1) as assignee_id,
        coalesce(tickets.author_id, -1) as author_id,
        tickets.person_id,
        tickets.company_id,
        tickets.created_at,
        tickets.updated_at,
        greatest(
            tickets.created_at,
            coalesce(last_versions.last_version_at, tickets.created_at),
            coalesce(status_times.last_status_change_at, tickets.created_at)
        ) as last_updated_at,
        tickets.due_date,
        closures.first_closed_at,
        closures.last_closed_at,
        closures.closed_at_source,
        closures.reopen_count,
        status_times.hours_in_active,
        status_times.hours_in_draft,
        status_times.hours_in_closed,
        status_times.hours_in_archived,
        sla_clocks.sla_target_hours,
        sla_clocks.sla_breach_at,
        policy.as_of
    from tickets
    cross join policy
    inner join status_times on status_times.ticket_id = tickets.ticket_id
    inner join closures on closures.ticket_id = tickets.ticket_id
    inner join sla_clocks on sla_clocks.ticket_id = tickets.ticket_id
    left join last_versions on last_versions.ticket_id = tickets.ticket_id

),

metrics as (

    select
        ticket_id,
        custom_id,
        ticket_name,
        status,
        is_open,
        priority_id,
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
        sla_breach_at,
        coalesce(first_closed_at > sla_breach_at, false)
            or coalesce(is_open and sla_breach_at < as_of, false) as is_sla_breached,

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
        end as age_bucket
    from metrics

)

select * from final
