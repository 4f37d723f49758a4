-- One row per schedule x local date of its time zone (the default schedule, var usercom_business_hours,
-- is schedule_id 0; those of var usercom_schedules follow, each with its name), from
-- the day before the first ticket's creation to a horizon past as_of long enough for every target: the
-- date's opening window as UTC instants (null on a weekday the schedule does not list and on a holiday),
-- its open microseconds (0 when closed) and those of all dates before it. The business clock at an
-- instant t is open_us_before (of t's schedule) + the part of the window of t's local date already open
-- (macros/sla/business_hours.sql); business time from a to b is clock(b) - clock(a), and a breach is
-- the instant the clock reaches its target.
--
-- Each local date's wall-clock window becomes UTC through the engine's time zone database, per date, so
-- daylight saving moves the UTC times and not the local ones. A wall time the spring-forward skips is
-- read an hour on (as both engines read it); one the fall-back repeats opens a window at its first
-- occurrence and closes one at its second, so a window spanning the repeated hour counts both passes;
-- a window that closes before it opens is empty that day, and a window is kept within its local date
-- (from the date's first instant to the next date's), so the clock never runs twice. Built only with a
-- schedule.

{#- built only with a schedule: without one nothing refers to it -#}
{{ config(
    enabled=usercom_tickets.has_business_hours(),
    indexes=[{'columns': ['local_date', 'schedule_id']}, {'columns': ['schedule_id', 'open_us_before']}]
        if target.type == 'postgres' else [],
) }}

{%- set schedules = usercom_tickets.business_schedules() %}

{% if schedules -%}

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

-- one day more than the windows, for the last date's end; a day earlier still, for the time zones west of UTC
bounds as (

    select
        {{ usercom_tickets.utc_date('min(tickets.created_at)') }} - 2 as first_day,
        {{ usercom_tickets.utc_date('max(policy.as_of)') }} + {{ usercom_tickets.business_horizon_days(schedules) + 2 }} as last_day
    from {{ ref('stg_tickets') }} as tickets
    cross join policy

),

days as (

    select day from {{ usercom_tickets.day_series('bounds', 'bounds.first_day', 'bounds.last_day') }} as series

),
{%- for schedule in schedules %}
{%- set tz = schedule['timezone'] %}
{%- set n = schedule['id'] %}

-- schedule {{ schedule['name'] }}: the first instant of each local date: its midnight, the first occurrence
-- of a midnight the fall-back repeats, the end of the skipped hour when the spring-forward skips midnight
day_starts_{{ n }} as (

    select day, {{ usercom_tickets.first_local_wall_time('day', '0', tz) }} as starts_at
    from days

),

-- the weekday's window in minutes after local midnight; none on closed weekdays and holidays
openings_{{ n }} as (

    select
        day_starts.day as local_date,
        day_starts.starts_at,
        lead(day_starts.starts_at) over (order by day_starts.day) as next_starts_at,
        case
            {%- if schedule['holidays'] %}
            when day_starts.day in (
                {%- for holiday in schedule['holidays'] %}
                cast({{ dbt.string_literal(holiday) }} as date){{ "," if not loop.last }}
                {%- endfor %}
            ) then null
            {%- endif %}
            {%- for day_of_week, window in schedule['windows'].items() %}
            when {{ usercom_tickets.day_of_week('day_starts.day') }} = {{ day_of_week }} then {{ window[0] }}
            {%- endfor %}
        end as opening_minute,
        case {{ usercom_tickets.day_of_week('day_starts.day') }}
            {%- for day_of_week, window in schedule['windows'].items() %}
            when {{ day_of_week }} then {{ window[1] }}
            {%- endfor %}
        end as closing_minute
    from day_starts_{{ n }} as day_starts

),

windows_{{ n }} as (

    select
        {{ n }} as schedule_id,
        local_date,
        next_starts_at,
        case when opening_minute is not null then
            greatest({{ usercom_tickets.first_local_wall_time('local_date', 'opening_minute', tz) }}, starts_at)
        end as opens_at,
        case when opening_minute is not null then
            least({{ usercom_tickets.local_wall_time('local_date', 'closing_minute', tz) }}, next_starts_at)
        end as closes_at
    from openings_{{ n }}

),
{%- endfor %}

windows as (
    {%- for schedule in schedules %}

    select * from windows_{{ schedule['id'] }}
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}

),

measured as (

    select
        schedule_id,
        local_date,
        case when closes_at > opens_at then opens_at end as opens_at,
        case when closes_at > opens_at then closes_at end as closes_at,
        case
            when closes_at > opens_at then {{ usercom_tickets.microseconds_between('opens_at', 'closes_at') }}
            else 0
        end as open_us
    from windows
    where next_starts_at is not null

)

select
    cast(schedule_id as {{ dbt.type_int() }}) as schedule_id,
    {{ usercom_tickets.schedule_name('schedule_id') }} as schedule_name,
    local_date,
    opens_at,
    closes_at,
    cast(open_us as {{ dbt.type_bigint() }}) as open_us,
    cast(coalesce(sum(open_us) over (
        partition by schedule_id order by local_date rows between unbounded preceding and 1 preceding
    ), 0) as {{ dbt.type_bigint() }}) as open_us_before
from measured

{%- endif %}
