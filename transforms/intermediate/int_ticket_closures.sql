-- One row per ticket: when it was first and last closed (entered a terminal status from an open
-- one), where that first close time comes from, and how often it was reopened, up to as_of.

with

events as (

    select * from analytics.int_ticket_status_events

),

closures as (

    select
        ticket_id,
        arg_min(event_at, event_seq) filter (where is_closure) as first_closed_at,
        arg_max(event_at, event_seq) filter (where is_closure) as last_closed_at,
        arg_min(source, event_seq) filter (where is_closure) as closed_at_source,
        count(*) filter (where is_closure) as close_count,
        count(*) filter (where is_reopen) as reopen_count
    from events
    group by ticket_id

)

select * from closures
