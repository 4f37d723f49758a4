-- rpt_backlog_history_daily adds up to rpt_backlog_daily's open tickets on every day, and on the day
-- of as_of its counts per status equal a direct count of fct_tickets open at as_of and not deleted.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

history_by_day as (

    select day, sum(open_tickets) as open_tickets
    from {{ ref('rpt_backlog_history_daily') }}
    group by day

),

backlog_by_day as (

    select day, sum(open_tickets) as open_tickets
    from {{ ref('rpt_backlog_daily') }}
    group by day

),

history_at_as_of as (

    select history.status, sum(history.open_tickets) as open_tickets
    from {{ ref('rpt_backlog_history_daily') }} as history
    inner join policy on history.day = policy.as_of_date
    group by history.status

),

tickets_at_as_of as (

    select status, count(*) as open_tickets
    from {{ ref('fct_tickets') }}
    where is_open and not is_deleted
    group by status

)

select
    'day ' || cast(coalesce(history_by_day.day, backlog_by_day.day) as {{ dbt.type_string() }}) as compared,
    coalesce(history_by_day.open_tickets, 0) as history_open,
    coalesce(backlog_by_day.open_tickets, 0) as backlog_open
from history_by_day
full outer join backlog_by_day on backlog_by_day.day = history_by_day.day
where coalesce(history_by_day.open_tickets, 0) <> coalesce(backlog_by_day.open_tickets, 0)

union all

select
    'status ' || coalesce(history_at_as_of.status, tickets_at_as_of.status),
    coalesce(history_at_as_of.open_tickets, 0),
    coalesce(tickets_at_as_of.open_tickets, 0)
from history_at_as_of
full outer join tickets_at_as_of on tickets_at_as_of.status = history_at_as_of.status
where coalesce(history_at_as_of.open_tickets, 0) <> coalesce(tickets_at_as_of.open_tickets, 0)
