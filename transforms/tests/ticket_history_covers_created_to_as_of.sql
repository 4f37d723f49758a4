-- A ticket's history rows follow one another without gap or overlap, the first starting at created_at
-- and the last ending at as_of (at deleted_at for a ticket deleted by then); every ticket has some.

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select ticket_id, created_at, coalesce(deleted_at, policy.as_of) as history_ends_at
    from {{ ref('fct_tickets') }}
    cross join policy
    where deleted_at is null or deleted_at > created_at

),

history as (

    select
        ticket_id,
        valid_from,
        valid_to,
        lag(valid_to) over (partition by ticket_id order by valid_from) as previous_valid_to,
        lead(valid_from) over (partition by ticket_id order by valid_from) as next_valid_from
    from {{ ref('fct_ticket_history') }}

),

problems as (

    select
        tickets.ticket_id,
        history.valid_from,
        case
            when history.ticket_id is null then 'no history row'
            when history.previous_valid_to is null and history.valid_from <> tickets.created_at
                then 'first row does not start at created_at'
            when history.valid_from <> history.previous_valid_to then 'gap or overlap with the previous row'
            when history.valid_to < history.valid_from then 'row ends before it starts'
            when history.next_valid_from is null and history.valid_to <> tickets.history_ends_at
                then 'last row does not end at as_of (or deleted_at)'
        end as problem
    from tickets
    left join history on history.ticket_id = tickets.ticket_id

)

select * from problems where problem is not null
