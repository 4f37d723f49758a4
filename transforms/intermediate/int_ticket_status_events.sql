-- One row per ticket x status change up to as_of, oldest first; the first row is the ticket's creation.
--
-- Where a ticket's status changes come from, best first:
--   status_history  the entries the API lists (plus the current status, at updated_at, when the
--                   ticket's status differs from the last entry and is newer);
--   observed        a status that differs from the previous version seen in tickets_history;
--   updated_at      the updated_at of the first version we have, when it is already terminal (we did
--                   not see it close, so updated_at is the best close time we know).
-- A ticket starts at created_at in the first status we know of; if that one is terminal, the ticket
-- is taken to have been 'active' until it was recorded as closed. Changes after as_of, and tickets
-- created after as_of, are left out: every ticket's status at as_of is its last row here.

with

policy as (

    select * from analytics.policy

),

tickets as (

    select tickets.ticket_id, tickets.status, tickets.created_at, tickets.updated_at
    from analytics.stg_tickets as tickets
    cross join policy
    where tickets.created_at <= policy.as_of

),

history_entries as (

    select
        ticket_id,
        entered_at as known_at,
        position as known_order,
        status,
        'status_history' as source
    from analytics.stg_ticket_status_history
    semi join tickets using (ticket_id)

),

last_history_entries as (

    select
        ticket_id,
        arg_max(status, (known_at, known_order)) as status,
        max(known_at) as known_at
    from history_entries
    group by ticket_id

),

current_status_missing_from_history as (

    select
        tickets.ticket_id,
        tickets.updated_at as known_at,
        9223372036854775807 as known_order,
        tickets.status,
        'updated_at' as source
    from tickets
    inner join last_history_entries using (ticket_id)
    where tickets.status is distinct from last_history_entries.status
        and tickets.updated_at >= last_history_entries.known_at

),

version_statuses as (

    select
        ticket_id,
        updated_at as known_at,
        version_seq as known_order,
        status,
        -- the first version has no earlier one to have been observed changing from
        case when version_seq = 1 then 'updated_at' else 'observed' end as source
    from analytics.int_ticket_versions
    semi join tickets using (ticket_id)
    anti join last_history_entries using (ticket_id)
    where status is not null

),

known_statuses as (

    select * from history_entries
    union all
    select * from current_status_missing_from_history
    union all
    select * from version_statuses

),

ordered_known_statuses as (

    select
        *,
        row_number() over (partition by ticket_id order by known_at, known_order) as known_seq
    from known_statuses

),

creations as (

    select
        tickets.ticket_id,
        tickets.created_at as event_at,
        0 as known_seq,
        case
            when list_contains(policy.terminal_statuses, first_known.status) then 'active'
            else coalesce(first_known.status, tickets.status)
        end as status,
        'created' as source
    from tickets
    cross join policy
    left join ordered_known_statuses as first_known
        on first_known.ticket_id = tickets.ticket_id
        and first_known.known_seq = 1

),

candidate_events as (

    select * from creations
    union all
    select ticket_id, known_at as event_at, known_seq, status, source
    from ordered_known_statuses

),

changes as (

    select
        candidate_events.ticket_id,
        candidate_events.event_at,
        candidate_events.known_seq,
        candidate_events.status,
        lag(candidate_events.status) over (
            partition by candidate_events.ticket_id order by candidate_events.known_seq
        ) as previous_status,
        candidate_events.source
    from candidate_events
    cross join policy
    where candidate_events.event_at <= policy.as_of
    qualify previous_status is distinct from candidate_events.status

),

classified as (

    select
        changes.ticket_id,
        row_number() over (partition by changes.ticket_id order by changes.known_seq) as event_seq,
        changes.event_at,
        changes.status,
        changes.previous_status,
        changes.source,
        coalesce(
            list_contains(policy.terminal_statuses, changes.status)
            and not list_contains(policy.terminal_statuses, changes.previous_status),
            false
        ) as is_closure,
        coalesce(
            list_contains(policy.terminal_statuses, changes.previous_status)
            and not list_contains(policy.terminal_statuses, changes.status),
            false
        ) as is_reopen
    from changes
    cross join policy

)

select * from classified
