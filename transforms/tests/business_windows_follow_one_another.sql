-- Each business-hours schedule's dates follow one another, one row a date: each date's window opens
-- after every earlier one closed and lasts more than nothing (a closed date has none and counts 0),
-- and each date starts the business clock where the one before left it. Only with a schedule.

{{ config(enabled=usercom_tickets.has_business_hours()) }}

with

days as (

    select
        schedule_id,
        local_date,
        opens_at,
        closes_at,
        open_us,
        open_us_before,
        lag(local_date) over (partition by schedule_id order by local_date) as previous_date,
        lag(open_us_before + open_us) over (partition by schedule_id order by local_date) as previous_open_us_through,
        max(closes_at) over (partition by schedule_id order by local_date rows between unbounded preceding and 1 preceding) as earlier_closes_at
    from {{ ref('int_business_windows') }}

)

select schedule_id, local_date, opens_at, closes_at, open_us, open_us_before
from days
where (opens_at is null) <> (open_us = 0)
    or (opens_at is not null and open_us <> {{ usercom_tickets.microseconds_between('opens_at', 'closes_at') }})
    or open_us < 0
    or opens_at < earlier_closes_at
    or local_date <> previous_date + 1
    or open_us_before <> coalesce(previous_open_us_through, 0)
