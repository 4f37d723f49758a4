-- A ticket's status intervals follow one another without gap or overlap, the first starting at
-- created_at and the last ending at as_of.

with

policy as (

    select * from analytics.policy

),

intervals as (

    select
        intervals.ticket_id,
        intervals.interval_seq,
        intervals.entered_at,
        intervals.left_at,
        intervals.is_current,
        lag(intervals.left_at) over (
            partition by intervals.ticket_id order by intervals.interval_seq
        ) as previous_left_at,
        tickets.created_at
    from analytics.fct_ticket_status_intervals as intervals
    inner join analytics.fct_tickets as tickets using (ticket_id)

),

problems as (

    select
        intervals.ticket_id,
        intervals.interval_seq,
        case
            when intervals.interval_seq = 1 and intervals.entered_at <> intervals.created_at
                then 'first interval does not start at created_at'
            when intervals.interval_seq > 1 and intervals.entered_at <> intervals.previous_left_at
                then 'gap or overlap with the previous interval'
            when intervals.left_at < intervals.entered_at
                then 'interval ends before it starts'
            when intervals.is_current and intervals.left_at <> policy.as_of
                then 'last interval does not end at as_of'
        end as problem
    from intervals
    cross join policy

),

tickets_without_intervals as (

    select ticket_id, null::bigint as interval_seq, 'no status interval' as problem
    from analytics.fct_tickets
    anti join analytics.fct_ticket_status_intervals using (ticket_id)

)

select * from problems where problem is not null
union all
select * from tickets_without_intervals
