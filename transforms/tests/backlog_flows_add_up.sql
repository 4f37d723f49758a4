-- Each day's open count is the previous day's plus tickets opened and reopened, minus tickets
-- closed and open tickets deleted that day.

with

backlog as (

    select
        day,
        priority_id,
        open_tickets,
        opened_tickets,
        closed_tickets,
        reopened_tickets,
        deleted_tickets,
        coalesce(lag(open_tickets) over (partition by priority_id order by day), 0) as previous_open_tickets
    from {{ ref('rpt_backlog_daily') }}

)

select day, priority_id, previous_open_tickets, opened_tickets, closed_tickets, reopened_tickets, deleted_tickets,
    open_tickets
from backlog
where open_tickets <> previous_open_tickets + opened_tickets - closed_tickets + reopened_tickets - deleted_tickets
