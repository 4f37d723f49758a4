-- One row per UTC day (from the day a combination was first seen to as_of) x open status x priority x
-- assignee, as they were that day: the tickets open at the end of the day in that status, with that
-- priority and assignee (fct_ticket_history). A history row counts +1 on the day it starts and -1 on the
-- day it ends (none for the current row), summed up day by day, as rpt_backlog_daily does; so the rows
-- of a day add up to rpt_backlog_daily's open tickets of that day.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

history as (

    select status, priority_id, assignee_id, valid_from, valid_to, is_current
    from {{ ref('fct_ticket_history') }}
    where is_open

),

changes as (

    select status, priority_id, assignee_id, {{ usercom_tickets.utc_date('valid_from') }} as day, 1 as open_change
    from history
    union all
    select status, priority_id, assignee_id, {{ usercom_tickets.utc_date('valid_to') }}, -1
    from history
    where not is_current

),

daily_changes as (

    select status, priority_id, assignee_id, day, sum(open_change) as open_change
    from changes
    group by status, priority_id, assignee_id, day

),

combinations as (

    select status, priority_id, assignee_id, min(day) as first_day
    from daily_changes
    group by status, priority_id, assignee_id

),

bounds as (

    select min(combinations.first_day) as first_day, max(policy.as_of_date) as last_day
    from combinations
    cross join policy

),

days as (

    select day from {{ usercom_tickets.day_series('bounds', 'bounds.first_day', 'bounds.last_day') }} as series

),

grid as (

    select days.day, combinations.status, combinations.priority_id, combinations.assignee_id
    from combinations
    inner join days on days.day >= combinations.first_day

),

daily as (

    select
        grid.day,
        {{ usercom_tickets.day_snapshot_at('grid.day', 'policy.as_of') }} as snapshot_at,
        grid.status,
        grid.priority_id,
        grid.assignee_id,
        cast(sum(coalesce(daily_changes.open_change, 0)) over (
            partition by grid.status, grid.priority_id, grid.assignee_id
            order by grid.day rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as open_tickets
    from grid
    cross join policy
    left join daily_changes
        on daily_changes.status = grid.status
        and daily_changes.priority_id = grid.priority_id
        and daily_changes.assignee_id = grid.assignee_id
        and daily_changes.day = grid.day

)

select * from daily
