-- Durations are never negative: a negative one means a close, a status change or an update that
-- is recorded before the ticket was created (or a ticket created after as_of slipping through).

with

ticket_durations as (

    unpivot (
        select
            ticket_id,
            first_resolution_hours,
            full_resolution_hours,
            hours_in_active,
            hours_in_draft,
            hours_in_closed,
            hours_in_archived,
            open_age_hours,
            hours_since_update,
            sla_target_hours
        from analytics.fct_tickets
    )
    on columns(* exclude (ticket_id))
    into name duration value hours

),

interval_durations as (

    select ticket_id, 'fct_ticket_status_intervals.hours' as duration, hours
    from analytics.fct_ticket_status_intervals

)

select ticket_id, duration, hours from ticket_durations where hours < 0
union all
select ticket_id, duration, hours from interval_durations where hours < 0
