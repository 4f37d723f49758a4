-- One row per ticket x interval in which its status, priority and assignee all stayed the same
-- (valid_from -> valid_to), from creation to as_of, or to deleted_at for a ticket deleted by then
-- (its history ends there, as in the backlog). The status comes from the status intervals (status
-- history, else observed versions), the priority and assignee from the versions the pipeline saw
-- (int_ticket_versions: tickets_history plus the current row), the first version's from creation on:
-- the intersection of the two sets of intervals, each of which changes at every boundary, so no two
-- rows in a row carry the same three values unless a zero-length interval fell out between them.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select ticket_id, created_at, deleted_at
    from {{ ref('fct_tickets') }}

),

-- the status intervals, cut at the ticket's deletion
status_spans as (

    select
        intervals.ticket_id,
        intervals.status,
        intervals.is_terminal,
        intervals.entered_at,
        case when tickets.deleted_at < intervals.left_at then tickets.deleted_at else intervals.left_at end as left_at,
        -- the span holding the end of the ticket's history (as_of, or its deletion)
        intervals.is_current or coalesce(tickets.deleted_at <= intervals.left_at, false) as is_last,
        tickets.deleted_at is not null as is_deleted
    from {{ ref('int_ticket_status_intervals') }} as intervals
    inner join tickets on tickets.ticket_id = intervals.ticket_id
    where tickets.deleted_at is null or intervals.entered_at < tickets.deleted_at

),

-- an instant in a status (two changes at one time) takes no time: only the last span may be one
lasting_status_spans as (

    select * from status_spans
    where entered_at < left_at or is_last

),

-- the versions known by as_of (the first one in any case: the best guess at creation) and before the
-- deletion, with the priority and assignee of the version before
versions as (

    select
        versions.ticket_id,
        versions.version_seq,
        case
            when versions.version_seq = 1 or versions.updated_at < tickets.created_at then tickets.created_at
            else versions.updated_at
        end as changed_at,
        coalesce(versions.priority_id, -1) as priority_id,
        coalesce(versions.assignee_id, -1) as assignee_id,
        lag(coalesce(versions.priority_id, -1)) over (
            partition by versions.ticket_id order by versions.version_seq
        ) as previous_priority_id,
        lag(coalesce(versions.assignee_id, -1)) over (
            partition by versions.ticket_id order by versions.version_seq
        ) as previous_assignee_id,
        coalesce(tickets.deleted_at, policy.as_of) as history_ends_at
    from {{ ref('int_ticket_versions') }} as versions
    inner join tickets on tickets.ticket_id = versions.ticket_id
    cross join policy
    where versions.version_seq = 1
        or (versions.updated_at <= policy.as_of
            and (tickets.deleted_at is null or versions.updated_at < tickets.deleted_at))

),

-- the versions that changed the priority or the assignee, each valid until the next such change
assignment_spans as (

    select
        ticket_id,
        priority_id,
        assignee_id,
        changed_at as valid_from,
        coalesce(
            lead(changed_at) over (partition by ticket_id order by version_seq),
            history_ends_at
        ) as valid_to,
        lead(changed_at) over (partition by ticket_id order by version_seq) is null as is_last
    from versions
    where previous_priority_id is null
        or priority_id <> previous_priority_id
        or assignee_id <> previous_assignee_id

),

-- where a status span and an assignment span overlap; the two last spans always meet at the end of the
-- history, even in an instant (a ticket created at as_of, a status changed at as_of)
intersected as (

    select
        status_spans.ticket_id,
        case
            when assignment_spans.valid_from > status_spans.entered_at then assignment_spans.valid_from
            else status_spans.entered_at
        end as valid_from,
        case
            when assignment_spans.valid_to < status_spans.left_at then assignment_spans.valid_to
            else status_spans.left_at
        end as valid_to,
        status_spans.status,
        not status_spans.is_terminal as is_open,
        coalesce(assignment_spans.priority_id, -1) as priority_id,
        coalesce(assignment_spans.assignee_id, -1) as assignee_id,
        status_spans.is_last and coalesce(assignment_spans.is_last, true) and not status_spans.is_deleted
            as is_current
    from lasting_status_spans as status_spans
    left join assignment_spans
        on assignment_spans.ticket_id = status_spans.ticket_id
        and (
            (assignment_spans.valid_from < status_spans.left_at and status_spans.entered_at < assignment_spans.valid_to)
            or (assignment_spans.is_last and status_spans.is_last)
        )

)

select * from intersected
