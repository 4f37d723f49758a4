{#- The business-hours schedule, from the var usercom_business_hours (the policy file's [business_hours],
    checked in full by transforms/policy.py; the checks here are for package users setting the var by
    hand): {"timezone": "Europe/Warsaw", "monday": ["09:00", "17:00"], ..., "holidays": ["2024-05-01"]}.
    An empty var means no schedule: the business-hours columns are null and nothing below is joined. -#}

{#- The schedule as a dict, or none: timezone, windows {day of week (0 = Sunday, as date_part('dow')):
    [opening minute, closing minute]} in local wall-clock time, holidays (ISO dates). -#}
{% macro business_schedule() -%}
    {%- set raw = var('usercom_business_hours', {}) or {} -%}
    {%- if raw | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set weekdays = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] -%}
    {%- for key in raw -%}
        {%- if key not in weekdays and key not in ['timezone', 'holidays'] -%}
            {{ exceptions.raise_compiler_error("var usercom_business_hours: unknown key '" ~ key ~ "'; weekdays are monday ... sunday, the other keys timezone and holidays") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if not raw.get('timezone') -%}
        {{ exceptions.raise_compiler_error("var usercom_business_hours: timezone is required, an IANA name such as Europe/Warsaw") }}
    {%- endif -%}
    {%- set windows = {} -%}
    {%- for day in weekdays -%}
        {%- set day_of_week = loop.index0 -%}
        {%- if raw.get(day) -%}
            {%- if raw[day] | length != 2 -%}
                {{ exceptions.raise_compiler_error("var usercom_business_hours: " ~ day ~ " must be [\"HH:MM\", \"HH:MM\"] (opening, closing)") }}
            {%- endif -%}
            {%- set opening = usercom_tickets.minute_of_day(raw[day][0], day) -%}
            {%- set closing = usercom_tickets.minute_of_day(raw[day][1], day) -%}
            {%- if closing <= opening -%}
                {{ exceptions.raise_compiler_error("var usercom_business_hours: " ~ day ~ " closes before it opens") }}
            {%- endif -%}
            {%- do windows.update({day_of_week: [opening, closing]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if windows | length == 0 -%}
        {{ exceptions.raise_compiler_error("var usercom_business_hours: opens on no weekday; give at least one, e.g. monday: [\"09:00\", \"17:00\"]") }}
    {%- endif -%}
    {{ return({'timezone': raw['timezone'], 'windows': windows, 'holidays': raw.get('holidays', []) or []}) }}
{%- endmacro %}


{#- "09:00" as minutes after local midnight (540); "24:00" is 1440. -#}
{% macro minute_of_day(text, day) -%}
    {%- set parts = (text | string).split(':') -%}
    {%- if parts | length != 2 or not parts[0] | trim | int(-1) >= 0 or not parts[1] | trim | int(-1) >= 0
           or parts[1] | int > 59 or parts[0] | int * 60 + parts[1] | int > 1440 -%}
        {{ exceptions.raise_compiler_error("var usercom_business_hours: " ~ day ~ ": '" ~ text ~ "' is not a time of day HH:MM (00:00 to 24:00)") }}
    {%- endif -%}
    {{ return(parts[0] | int * 60 + parts[1] | int) }}
{%- endmacro %}


{#- True when a schedule is configured (the business-hours columns are computed). -#}
{% macro has_business_hours() -%}
    {{ return(usercom_tickets.business_schedule() is not none) }}
{%- endmacro %}


{#- True when the SLA targets and the breach run on the business clock (var usercom_sla_clock). -#}
{% macro uses_business_clock() -%}
    {%- set clock = var('usercom_sla_clock', 'calendar') -%}
    {%- if clock not in ['calendar', 'business'] -%}
        {{ exceptions.raise_compiler_error("var usercom_sla_clock must be calendar or business, got " ~ clock) }}
    {%- endif -%}
    {%- if clock == 'business' and not usercom_tickets.has_business_hours() -%}
        {{ exceptions.raise_compiler_error("var usercom_sla_clock is business but usercom_business_hours sets no schedule") }}
    {%- endif -%}
    {{ return(clock == 'business') }}
{%- endmacro %}


{#- Days past as_of's local date the opening windows must reach for a breach instant to be found on the
    business clock: enough weeks for the longest target, every holiday taken as a lost day of opening,
    and two weeks more (a daylight-saving change shortens a window by an hour at most). -#}
{% macro business_horizon_days(schedule) -%}
    {%- set targets = [var('usercom_default_target_hours') | float] -%}
    {%- for hours in (var('usercom_target_hours') or {}).values() -%}
        {%- do targets.append(hours | float) -%}
    {%- endfor -%}
    {%- set weekly_minutes = [] -%}
    {%- for window in schedule['windows'].values() -%}
        {%- do weekly_minutes.append(window[1] - window[0]) -%}
    {%- endfor -%}
    {%- set hours_needed = targets | max + 24 * (schedule['holidays'] | length) -%}
    {%- set weeks = (hours_needed * 60 / (weekly_minutes | sum)) | round(0, 'ceil') | int -%}
    {{ return(7 * (weeks + 2)) }}
{%- endmacro %}


{#- `relation`'s rows and `name`: the business clock at the instant `ts` (a column of `relation`), i.e. the
    open microseconds of int_business_windows up to `ts`: those of the dates before its local date and
    the part of that date's window already open (null when `ts` is; 0 before the first date). Business
    time from a to b = clock(b) - clock(a). An equality join on the local date, the same on every
    engine (measured at 1,000,000 tickets against DuckDB's as-of join on the windows' opening: 7.8-8.6
    against 9.3-9.9 s of CPU for the status events). A select: wrap it in a CTE. -#}
{% macro with_business_clock(relation, ts, name) -%}
    {%- set schedule = usercom_tickets.business_schedule() -%}
    {%- set at = relation ~ '.' ~ ts -%}
    select
        {{ relation }}.*,
        case when {{ at }} is not null then coalesce(
            business_day.open_us_before + least(
                greatest(coalesce({{ usercom_tickets.microseconds_between('business_day.opens_at', at) }}, 0), 0),
                business_day.open_us
            ),
            0
        ) end as {{ name }}
    from {{ relation }}
    left join {{ ref('int_business_windows') }} as business_day
        on business_day.local_date = {{ usercom_tickets.local_date(at, schedule['timezone']) }}
{%- endmacro %}


{#- `relation`'s rows and `name`: the first instant the business clock reads `clock_us` (a column of
    `relation`, in microseconds), the inverse of with_business_clock; null when `clock_us` is null or
    not above 0. A reading at a window's end is that window's closing, not the next opening. -#}
{% macro with_business_instant(relation, clock_us, name) -%}
    {{ return(adapter.dispatch('with_business_instant', 'usercom_tickets')(relation, clock_us, name)) }}
{%- endmacro %}
{#- DuckDB: an as-of join finds the last open window whose clock is below the reading. -#}
{% macro duckdb__with_business_instant(relation, clock_us, name) -%}
    select
        {{ relation }}.*,
        case when {{ relation }}.{{ clock_us }} - business_window.open_us_before <= business_window.open_us then
            {{ usercom_tickets.add_microseconds('business_window.opens_at', relation ~ '.' ~ clock_us ~ ' - business_window.open_us_before') }}
        end as {{ name }}
    from {{ relation }}
    asof left join (
        select opens_at, open_us, open_us_before from {{ ref('int_business_windows') }} where open_us > 0
    ) as business_window
        on {{ relation }}.{{ clock_us }} > business_window.open_us_before
{%- endmacro %}
{#- PostgreSQL (no as-of join): a lateral lookup of the same window, through the index on open_us_before. -#}
{% macro default__with_business_instant(relation, clock_us, name) -%}
    select
        {{ relation }}.*,
        case when {{ relation }}.{{ clock_us }} - business_window.open_us_before <= business_window.open_us then
            {{ usercom_tickets.add_microseconds('business_window.opens_at', relation ~ '.' ~ clock_us ~ ' - business_window.open_us_before') }}
        end as {{ name }}
    from {{ relation }}
    left join lateral (
        select windows.opens_at, windows.open_us, windows.open_us_before
        from {{ ref('int_business_windows') }} as windows
        where windows.open_us_before < {{ relation }}.{{ clock_us }} and windows.open_us > 0
        order by windows.open_us_before desc
        limit 1
    ) as business_window on true
{%- endmacro %}
