{#- The business-hours schedule, from the var usercom_business_hours (the policy file's [business_hours],
    checked in full by transforms/policy.py; the checks here are for package users setting the var by
    hand): {"timezone": "Europe/Warsaw", "monday": ["09:00", "17:00"], ..., "holidays": ["2024-05-01"]}.
    An empty var means no schedule: the business-hours columns are null and nothing below is joined. -#}

{#- The schedule as a dict, or none: timezone, windows {day of week (0 = Sunday, as date_part('dow')):
    [opening minute, closing minute]} in local wall-clock time, holidays (ISO dates). -#}
{% macro business_schedule() -%}
    {{ return(usercom_tickets.parse_schedule(var('usercom_business_hours', {}) or {}, 'usercom_business_hours')) }}
{%- endmacro %}


{#- Every schedule, the default (usercom_business_hours, named by usercom_default_schedule) first, then
    those of usercom_schedules ({name: schedule}), each the dict of business_schedule() with its `id`
    (0 for the default, then 1, 2, ... in order) and `name`; empty without a schedule. -#}
{% macro business_schedules() -%}
    {%- set default = usercom_tickets.business_schedule() -%}
    {%- if default is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set schedules = [] -%}
    {%- do schedules.append(dict(default, id=0, name=var('usercom_default_schedule', 'default'))) -%}
    {%- for name, raw in (var('usercom_schedules', {}) or {}).items() -%}
        {%- set parsed = usercom_tickets.parse_schedule(raw, 'usercom_schedules.' ~ name) -%}
        {%- if parsed is none -%}
            {{ exceptions.raise_compiler_error("var usercom_schedules: " ~ name ~ " is empty; give a timezone and opening windows") }}
        {%- endif -%}
        {%- do schedules.append(dict(parsed, id=loop.index, name=name)) -%}
    {%- endfor -%}
    {{ return(schedules) }}
{%- endmacro %}


{#- True when tickets run on more than one schedule (var usercom_schedules), picked per ticket by
    int_ticket_schedules. -#}
{% macro has_several_schedules() -%}
    {{ return(usercom_tickets.business_schedules() | length > 1) }}
{%- endmacro %}


{#- The schedule's name for the schedule id in the column `schedule_id` (null when it is null). -#}
{% macro schedule_name(schedule_id) -%}
    {%- set schedules = usercom_tickets.business_schedules() -%}
    {%- if schedules | length == 1 -%}
        cast(case when {{ schedule_id }} is not null then {{ dbt.string_literal(schedules[0]['name']) }} end as {{ dbt.type_string() }})
    {%- elif schedules -%}
        cast(case {{ schedule_id }}
        {%- for schedule in schedules %} when {{ schedule['id'] }} then {{ dbt.string_literal(schedule['name']) }}{% endfor %}
        end as {{ dbt.type_string() }})
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}


{#- A schedule's dict (see business_schedule) from its var form, or none when empty; `label` names it in errors. -#}
{% macro parse_schedule(raw, label) -%}
    {%- if raw | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set weekdays = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] -%}
    {%- for key in raw -%}
        {%- if key not in weekdays and key not in ['timezone', 'holidays'] -%}
            {{ exceptions.raise_compiler_error("var " ~ label ~ ": unknown key '" ~ key ~ "'; weekdays are monday ... sunday, the other keys timezone and holidays") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if not raw.get('timezone') -%}
        {{ exceptions.raise_compiler_error("var " ~ label ~ ": timezone is required, an IANA name such as Europe/Warsaw") }}
    {%- endif -%}
    {%- set windows = {} -%}
    {%- for day in weekdays -%}
        {%- set day_of_week = loop.index0 -%}
        {%- if raw.get(day) -%}
            {%- if raw[day] | length != 2 -%}
                {{ exceptions.raise_compiler_error("var " ~ label ~ ": " ~ day ~ " must be [\"HH:MM\", \"HH:MM\"] (opening, closing)") }}
            {%- endif -%}
            {%- set opening = usercom_tickets.minute_of_day(raw[day][0], day, label) -%}
            {%- set closing = usercom_tickets.minute_of_day(raw[day][1], day, label) -%}
            {%- if closing <= opening -%}
                {{ exceptions.raise_compiler_error("var " ~ label ~ ": " ~ day ~ " closes before it opens") }}
            {%- endif -%}
            {%- do windows.update({day_of_week: [opening, closing]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if windows | length == 0 -%}
        {{ exceptions.raise_compiler_error("var " ~ label ~ ": opens on no weekday; give at least one, e.g. monday: [\"09:00\", \"17:00\"]") }}
    {%- endif -%}
    {{ return({'timezone': raw['timezone'], 'windows': windows, 'holidays': raw.get('holidays', []) or []}) }}
{%- endmacro %}


{#- "09:00" as minutes after local midnight (540); "24:00" is 1440. -#}
{% macro minute_of_day(text, day, label) -%}
    {%- set parts = (text | string).split(':') -%}
    {%- if parts | length != 2 or not parts[0] | trim | int(-1) >= 0 or not parts[1] | trim | int(-1) >= 0
           or parts[1] | int > 59 or parts[0] | int * 60 + parts[1] | int > 1440 -%}
        {{ exceptions.raise_compiler_error("var " ~ label ~ ": " ~ day ~ ": '" ~ text ~ "' is not a time of day HH:MM (00:00 to 24:00)") }}
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
    business clock: enough weeks for the longest target, every holiday from the day before as_of on taken
    as a lost day of opening (earlier ones cannot delay a breach past as_of), and two weeks more (a
    daylight-saving change shortens a window by an hour at most). transforms/policy.py's _horizon_days
    computes the same, to expand country calendars far enough. -#}
{% macro business_horizon_days(schedules) -%}
    {%- set days = [] -%}
    {%- for schedule in schedules -%}
        {%- do days.append(usercom_tickets.schedule_horizon_days(schedule)) -%}
    {%- endfor -%}
    {{ return(days | max) }}
{%- endmacro %}
{% macro schedule_horizon_days(schedule) -%}
    {%- set targets = [var('usercom_default_target_hours') | float] -%}
    {%- for hours in (var('usercom_target_hours') or {}).values() -%}
        {%- do targets.append(hours | float) -%}
    {%- endfor -%}
    {%- set weekly_minutes = [] -%}
    {%- for window in schedule['windows'].values() -%}
        {%- do weekly_minutes.append(window[1] - window[0]) -%}
    {%- endfor -%}
    {%- set as_of_text = (env_var('USERCOM_AS_OF', '') or var('usercom_as_of')) | string | trim -%}
    {%- set as_of_day = run_started_at.date() if as_of_text | lower == 'now'
                        else modules.datetime.date.fromisoformat(as_of_text[:10]) -%}
    {%- set since = (as_of_day - modules.datetime.timedelta(days=1)).isoformat() -%}
    {%- set later_holidays = [] -%}
    {%- for holiday in schedule['holidays'] if holiday | string >= since -%}
        {%- do later_holidays.append(holiday) -%}
    {%- endfor -%}
    {%- set hours_needed = targets | max + 24 * (later_holidays | length) -%}
    {%- set weeks = (hours_needed * 60 / (weekly_minutes | sum)) | round(0, 'ceil') | int -%}
    {{ return(7 * (weeks + 2)) }}
{%- endmacro %}


{#- `relation`'s rows and `name`: the business clock at the instant `ts` (a column of `relation`), i.e. the
    open microseconds of int_business_windows up to `ts`: those of the dates before its local date and
    the part of that date's window already open (null when `ts` is; 0 before the first date). Business
    time from a to b = clock(b) - clock(a). An equality join on the local date, the same on every
    engine (measured at 1,000,000 tickets against DuckDB's as-of join on the windows' opening: 7.8-8.6
    against 9.3-9.9 s of CPU for the status events). With several schedules `relation` has a column
    schedule_id, the ticket's (int_ticket_schedules), and the local date is in that schedule's time zone.
    A select: wrap it in a CTE. -#}
{% macro with_business_clock(relation, ts, name) -%}
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
        on business_day.local_date = {{ usercom_tickets.schedule_local_date(relation, at) }}
        {%- if usercom_tickets.has_several_schedules() %}
        and business_day.schedule_id = {{ relation }}.schedule_id
        {%- endif %}
{%- endmacro %}


{#- The local date of the instant `at` in the time zone of the schedule of `relation`'s row: one
    expression per time zone the schedules use, chosen by schedule_id when they use several. -#}
{% macro schedule_local_date(relation, at) -%}
    {%- set by_zone = {} -%}
    {%- for schedule in usercom_tickets.business_schedules() -%}
        {%- do by_zone.setdefault(schedule['timezone'], []).append(schedule['id']) -%}
    {%- endfor -%}
    {%- if by_zone | length == 1 -%}
        {{ usercom_tickets.local_date(at, (by_zone.keys() | list)[0]) }}
    {%- else -%}
        case
        {%- for zone, ids in by_zone.items() %}
            {{ 'else' if loop.last else 'when ' ~ relation ~ '.schedule_id in (' ~ (ids | join(', ')) ~ ') then' }} {{ usercom_tickets.local_date(at, zone) }}
        {%- endfor %}
        end
    {%- endif -%}
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
        select schedule_id, opens_at, open_us, open_us_before from {{ ref('int_business_windows') }} where open_us > 0
    ) as business_window
        on {% if usercom_tickets.has_several_schedules() %}{{ relation }}.schedule_id = business_window.schedule_id
        and {% endif %}{{ relation }}.{{ clock_us }} > business_window.open_us_before
{%- endmacro %}
{#- Spark (no as-of join, no lateral lookup with a limit): the readings and the open windows in one order, each
    reading taking the last window before it (a reading equal to a window's open_us_before sorts first). -#}
{% macro spark__with_business_instant(relation, clock_us, name) -%}
    {%- set several = usercom_tickets.has_several_schedules() -%}
    {%- set reading = 'ordered.reading.' ~ clock_us -%}
    select
        ordered.reading.*,
        case when {{ reading }} - ordered.business_window.open_us_before <= ordered.business_window.open_us then
            {{ usercom_tickets.add_microseconds('ordered.business_window.opens_at', reading ~ ' - ordered.business_window.open_us_before') }}
        end as {{ name }}
    from (
        select
            reading,
            is_window,
            last(business_window, true) over (
                {% if several %}partition by schedule_id {% endif %}order by sort_us, is_window
                rows between unbounded preceding and current row
            ) as business_window
        from (
            select struct({{ relation }}.*) as reading, null as business_window,
                {{ relation }}.{{ clock_us }} as sort_us, 0 as is_window{% if several %}, {{ relation }}.schedule_id{% endif %}
            from {{ relation }}
            union all
            select null, named_struct('opens_at', opens_at, 'open_us', open_us, 'open_us_before', open_us_before),
                open_us_before, 1{% if several %}, schedule_id{% endif %}
            from {{ ref('int_business_windows') }} where open_us > 0
        ) as readings_and_windows
    ) as ordered
    where ordered.is_window = 0
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
            {%- if usercom_tickets.has_several_schedules() %}
            and windows.schedule_id = {{ relation }}.schedule_id
            {%- endif %}
        order by windows.open_us_before desc
        limit 1
    ) as business_window on true
{%- endmacro %}
