-- One row per UTC day (from the first ticket's creation to as_of) x priority: tickets open at the
-- end of the day, opened, closed and reopened that day, and open past their due date at day's end.
--
-- A ticket is open at the end of day D when one of its open (non-terminal) status intervals
-- started before midnight and had not ended by then; the day of as_of ends at as_of. Counted as
-- +1 on the day an open interval starts and -1 on the day it ends, then summed up day by day, so
-- open(D) = open(D - 1) + opened(D) - closed(D) + reopened(D).

with

policy as (

    select * from analytics.policy

),

tickets as (

    select ticket_id, priority_id, created_at, due_date
    from analytics.fct_tickets

),

priorities as (

    select priority_id, priority_name from analytics.dim_priorities

),

days as (

    select unnest(generate_series(
        min(analytics.utc_date(tickets.created_at)), any_value(policy.as_of_date), interval 1 day
    ))::date as day
    from tickets
    cross join policy

),

open_intervals as (

    select
        tickets.priority_id,
        tickets.due_date,
        intervals.entered_at,
        intervals.left_at,
        intervals.is_current,
        greatest(intervals.entered_at, tickets.due_date) as overdue_from
    from analytics.int_ticket_status_intervals as intervals
    inner join tickets using (ticket_id)
    where not intervals.is_terminal

),

overdue_intervals as (

    select open_intervals.*
    from open_intervals
    cross join policy
    where open_intervals.due_date < policy.as_of
        and (open_intervals.is_current or open_intervals.overdue_from < open_intervals.left_at)

),

backlog_changes as (

    select priority_id, analytics.utc_date(entered_at) as day, 1 as open_change, 0 as overdue_change
    from open_intervals
    union all
    select priority_id, analytics.utc_date(left_at), -1, 0
    from open_intervals
    where not is_current
    union all
    select priority_id, analytics.utc_date(overdue_from), 0, 1
    from overdue_intervals
    union all
    select priority_id, analytics.utc_date(left_at), 0, -1
    from overdue_intervals
    where not is_current

),

daily_backlog_changes as (

    select priority_id, day, sum(open_change) as open_change, sum(overdue_change) as overdue_change
    from backlog_changes
    group by priority_id, day

),

daily_flows as (

    select
        tickets.priority_id,
        analytics.utc_date(events.event_at) as day,
        count_if(events.event_seq = 1) as opened_tickets,
        count_if(events.is_closure) as closed_tickets,
        count_if(events.is_reopen) as reopened_tickets
    from analytics.int_ticket_status_events as events
    inner join tickets using (ticket_id)
    group by all

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
        least(timezone('UTC', grid.day + interval 1 day), policy.as_of) as snapshot_at,
        cast(sum(coalesce(daily_backlog_changes.open_change, 0)) over running_total as bigint)
            as open_tickets,
        coalesce(daily_flows.opened_tickets, 0) as opened_tickets,
        coalesce(daily_flows.closed_tickets, 0) as closed_tickets,
        coalesce(daily_flows.reopened_tickets, 0) as reopened_tickets,
        cast(sum(coalesce(daily_backlog_changes.overdue_change, 0)) over running_total as bigint)
            as overdue_tickets
    from grid
    cross join policy
    left join daily_backlog_changes using (priority_id, day)
    left join daily_flows using (priority_id, day)
    window running_total as (
        partition by grid.priority_id order by grid.day rows between unbounded preceding and current row
    )

)

select * from daily
