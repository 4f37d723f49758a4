-- One row per opening window of the business-hours schedule (var usercom_business_hours): each local
-- date with an opening (a weekday the schedule lists, not a holiday) from the day before the first
-- ticket's creation to a horizon past as_of long enough for every target, with its opening and closing
-- as UTC instants and the open microseconds of all windows before it. The business clock at an instant
-- t is open_us_before + the part of t's window already open (macros/sla/business_hours.sql); business
-- time from a to b is clock(b) - clock(a), and a breach is the instant the clock reaches its target.
--
-- Each local date's wall-clock window becomes UTC through the engine's time zone database, per date, so
-- daylight saving moves the UTC times and not the local ones; a window a daylight-saving gap makes end
-- before it opens is empty that day. No schedule: no rows (and nothing joins this model).

{{ config(indexes=[{'columns': ['opens_at']}, {'columns': ['open_us_before']}] if target.type == 'postgres' else []) }}

{%- set schedule = usercom_tickets.business_schedule() %}

{% if schedule is none -%}

select
    cast(null as date) as local_date,
    cast(null as {{ usercom_tickets.type_timestamptz() }}) as opens_at,
    cast(null as {{ usercom_tickets.type_timestamptz() }}) as closes_at,
    cast(null as {{ dbt.type_bigint() }}) as open_us,
    cast(null as {{ dbt.type_bigint() }}) as open_us_before
from {{ ref('int_sla_policy') }}
where 1 = 0

{%- else -%}

{%- set tz = schedule['timezone'] %}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

bounds as (

    select
        {{ usercom_tickets.local_date('min(tickets.created_at)', tz) }} - 1 as first_day,
        {{ usercom_tickets.local_date('max(policy.as_of)', tz) }} + {{ usercom_tickets.business_horizon_days(schedule) }} as last_day
    from {{ ref('stg_tickets') }} as tickets
    cross join policy

),

days as (

    select day from {{ usercom_tickets.day_series('bounds', 'bounds.first_day', 'bounds.last_day') }} as series

),

-- the weekday's window in minutes after local midnight; none on closed weekdays and holidays
openings as (

    select
        day as local_date,
        case {{ usercom_tickets.day_of_week('day') }}
            {%- for day_of_week, window in schedule['windows'].items() %}
            when {{ day_of_week }} then {{ window[0] }}
            {%- endfor %}
        end as opening_minute,
        case {{ usercom_tickets.day_of_week('day') }}
            {%- for day_of_week, window in schedule['windows'].items() %}
            when {{ day_of_week }} then {{ window[1] }}
            {%- endfor %}
        end as closing_minute
    from days
    {%- if schedule['holidays'] %}
    where day not in (
        {%- for holiday in schedule['holidays'] %}
        cast({{ dbt.string_literal(holiday) }} as date){{ "," if not loop.last }}
        {%- endfor %}
    )
    {%- endif %}

),

windows as (

    select
        local_date,
        {{ usercom_tickets.local_wall_time('local_date', 'opening_minute', tz) }} as opens_at,
        {{ usercom_tickets.local_wall_time('local_date', 'closing_minute', tz) }} as closes_at
    from openings
    where opening_minute is not null

),

measured as (

    select
        local_date,
        opens_at,
        closes_at,
        {{ usercom_tickets.microseconds_between('opens_at', 'closes_at') }} as open_us
    from windows
    where closes_at > opens_at

)

select
    local_date,
    opens_at,
    closes_at,
    open_us,
    cast(coalesce(sum(open_us) over (
        order by opens_at rows between unbounded preceding and 1 preceding
    ), 0) as {{ dbt.type_bigint() }}) as open_us_before
from measured

{%- endif %}
