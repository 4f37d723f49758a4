-- On the day of as_of, the backlog's open and overdue counts per priority equal a direct count of
-- fct_tickets open (and overdue) at as_of and not deleted by then.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

backlog_at_as_of as (

    select backlog.priority_id, backlog.open_tickets, backlog.overdue_tickets
    from {{ ref('rpt_backlog_daily') }} as backlog
    inner join policy on backlog.day = policy.as_of_date

),

tickets_at_as_of as (

    select
        priority_id,
        {{ usercom_tickets.count_if('is_open') }} as open_tickets,
        {{ usercom_tickets.count_if('is_overdue') }} as overdue_tickets
    from {{ ref('fct_tickets') }}
    where not is_deleted
    group by priority_id

),

compared as (

    select
        coalesce(backlog_at_as_of.priority_id, tickets_at_as_of.priority_id) as priority_id,
        coalesce(backlog_at_as_of.open_tickets, 0) as backlog_open,
        coalesce(tickets_at_as_of.open_tickets, 0) as tickets_open,
        coalesce(backlog_at_as_of.overdue_tickets, 0) as backlog_overdue,
        coalesce(tickets_at_as_of.overdue_tickets, 0) as tickets_overdue
    from backlog_at_as_of
    full outer join tickets_at_as_of on tickets_at_as_of.priority_id = backlog_at_as_of.priority_id

)

select * from compared
where backlog_open <> tickets_open or backlog_overdue <> tickets_overdue
