-- One row per ticket: when it was first and last closed (entered a terminal status from an open
-- one), where that first close time comes from, and how often it was reopened, up to as_of.

with

events as (

    select
        ticket_id,
        event_seq,
        is_closure,
        is_reopen,
        case when is_closure then event_at end as closed_at,
        case when is_closure then source end as closure_source
    from {{ ref('int_ticket_status_events') }}

),

closures as (

    select
        ticket_id,
        {{ usercom_tickets.arg_min('closed_at', 'event_seq') }} as first_closed_at,
        {{ usercom_tickets.arg_max('closed_at', 'event_seq') }} as last_closed_at,
        {{ usercom_tickets.arg_min('closure_source', 'event_seq') }} as closed_at_source,
        {{ usercom_tickets.count_if('is_closure') }} as close_count,
        {{ usercom_tickets.count_if('is_reopen') }} as reopen_count
    from events
    group by ticket_id

)

select * from closures
