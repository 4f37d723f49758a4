-- One row per ticket with a status up to as_of (so per ticket of fct_tickets): what fct_tickets
-- takes from its status intervals and versions, in one aggregate and one join, so the mart joins a
-- single narrow row per ticket. Status at as_of, last change, time in each status; first and last
-- close (entering a terminal status from an open one), where the first close time comes from, and
-- how often it was reopened; the SLA target and breach; the latest version up to as_of.

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
        breach_at
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
        {{ usercom_tickets.arg_min('breach_at', 'interval_seq') }} as sla_breach_at
    from intervals
    group by ticket_id

),

last_versions as (

    select versions.ticket_id, max(versions.updated_at) as last_version_at
    from {{ ref('int_ticket_versions') }} as versions
    cross join policy
    where versions.updated_at <= policy.as_of
    group by versions.ticket_id

)

select
    per_ticket.*,
    last_versions.last_version_at
from per_ticket
left join last_versions on last_versions.ticket_id = per_ticket.ticket_id
