-- A ticket's status intervals follow one another without gap or overlap, the first starting at
-- created_at and the last ending at as_of.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

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
    from {{ ref('fct_ticket_status_intervals') }} as intervals
    inner join {{ ref('fct_tickets') }} as tickets on tickets.ticket_id = intervals.ticket_id

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

    select
        tickets.ticket_id,
        cast(null as {{ dbt.type_bigint() }}) as interval_seq,
        'no status interval' as problem
    from {{ ref('fct_tickets') }} as tickets
    where not exists (
        select 1 from {{ ref('fct_ticket_status_intervals') }} as intervals
        where intervals.ticket_id = tickets.ticket_id
    )

)

select ticket_id, interval_seq, problem from problems where problem is not null
union all
select ticket_id, interval_seq, problem from tickets_without_intervals
