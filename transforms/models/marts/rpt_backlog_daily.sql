-- One row per UTC day (from the first ticket's creation to as_of) x priority: tickets open at the
-- end of the day, opened, closed, reopened and deleted that day, and open past their due date at
-- day's end.
--
-- A ticket is open at the end of day D when one of its open (non-terminal) status intervals
-- started before midnight and had not ended by then; the day of as_of ends at as_of. A ticket
-- deleted by as_of has its history end at deleted_at: the open interval it was in ends there, and
-- nothing after it counts. Counted as +1 on the day an open interval starts and -1 on the day it
-- ends, then summed up day by day, so
-- open(D) = open(D - 1) + opened(D) - closed(D) + reopened(D) - deleted(D).

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select ticket_id, priority_id, created_at, due_date, deleted_at
    from {{ ref('fct_tickets') }}

),

priorities as (

    select priority_id, priority_name from {{ ref('dim_priorities') }}

),

bounds as (

    select
        min({{ usercom_tickets.utc_date('tickets.created_at') }}) as first_day,
        max(policy.as_of_date) as last_day
    from tickets
    cross join policy

),

days as (

    select day from {{ usercom_tickets.day_series('bounds', 'bounds.first_day', 'bounds.last_day') }} as series

),

-- the open intervals up to the ticket's deletion; ends_by_deletion: the ticket was deleted while in it
-- (what happens at deleted_at itself counts as after it, here and in daily_events)
cut_intervals as (

    select
        tickets.priority_id,
        tickets.due_date,
        tickets.deleted_at,
        intervals.entered_at,
        intervals.left_at,
        intervals.is_current,
        coalesce(tickets.deleted_at <= intervals.left_at, false) as ends_by_deletion
    from {{ ref('int_ticket_status_intervals') }} as intervals
    inner join tickets on tickets.ticket_id = intervals.ticket_id
    where not intervals.is_terminal
        and (tickets.deleted_at is null or intervals.entered_at < tickets.deleted_at)

),

open_intervals as (

    select
        priority_id,
        due_date,
        entered_at,
        case when ends_by_deletion then deleted_at else left_at end as left_at,
        is_current and not ends_by_deletion as is_current,
        ends_by_deletion,
        case
            when due_date > entered_at then due_date
            else entered_at
        end as overdue_from
    from cut_intervals

),

overdue_intervals as (

    select open_intervals.*
    from open_intervals
    cross join policy
    where open_intervals.due_date < policy.as_of
        and (open_intervals.is_current or open_intervals.overdue_from < open_intervals.left_at)

),

backlog_changes as (

    select
        priority_id,
        {{ usercom_tickets.utc_date('entered_at') }} as day,
        1 as open_change,
        0 as overdue_change,
        0 as deleted_change
    from open_intervals
    union all
    select priority_id, {{ usercom_tickets.utc_date('left_at') }}, -1, 0, case when ends_by_deletion then 1 else 0 end
    from open_intervals
    where not is_current
    union all
    select priority_id, {{ usercom_tickets.utc_date('overdue_from') }}, 0, 1, 0
    from overdue_intervals
    union all
    select priority_id, {{ usercom_tickets.utc_date('left_at') }}, 0, -1, 0
    from overdue_intervals
    where not is_current

),

daily_backlog_changes as (

    select
        priority_id,
        day,
        sum(open_change) as open_change,
        sum(overdue_change) as overdue_change,
        sum(deleted_change) as deleted_change
    from backlog_changes
    group by priority_id, day

),

daily_events as (

    select
        tickets.priority_id,
        {{ usercom_tickets.utc_date('events.event_at') }} as day,
        events.event_seq,
        events.is_closure,
        events.is_reopen
    from {{ ref('int_ticket_status_events') }} as events
    inner join tickets on tickets.ticket_id = events.ticket_id
    where tickets.deleted_at is null or events.event_at < tickets.deleted_at

),

daily_flows as (

    select
        priority_id,
        day,
        {{ usercom_tickets.count_if('event_seq = 1') }} as opened_tickets,
        {{ usercom_tickets.count_if('is_closure') }} as closed_tickets,
        {{ usercom_tickets.count_if('is_reopen') }} as reopened_tickets
    from daily_events
    group by priority_id, day

),

grid as (

    select days.day, priorities.priority_id, priorities.priority_name
    from days
    cross join priorities

),

daily as (

    select
        grid.day,
        grid.priority_id,
        grid.priority_name,
        {{ usercom_tickets.day_snapshot_at('grid.day', 'policy.as_of') }} as snapshot_at,
        cast(sum(coalesce(daily_backlog_changes.open_change, 0)) over (
            partition by grid.priority_id order by grid.day rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as open_tickets,
        coalesce(daily_flows.opened_tickets, 0) as opened_tickets,
        coalesce(daily_flows.closed_tickets, 0) as closed_tickets,
        coalesce(daily_flows.reopened_tickets, 0) as reopened_tickets,
        cast(coalesce(daily_backlog_changes.deleted_change, 0) as {{ dbt.type_bigint() }}) as deleted_tickets,
        cast(sum(coalesce(daily_backlog_changes.overdue_change, 0)) over (
            partition by grid.priority_id order by grid.day rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as overdue_tickets
    from grid
    cross join policy
    left join daily_backlog_changes
        on daily_backlog_changes.priority_id = grid.priority_id and daily_backlog_changes.day = grid.day
    left join daily_flows
        on daily_flows.priority_id = grid.priority_id and daily_flows.day = grid.day

)

select * from daily
