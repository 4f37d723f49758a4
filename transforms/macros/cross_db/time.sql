{#- Time arithmetic on UTC instants, per warehouse. Instants are timestamps with time zone; days and
    weeks are UTC whatever the session's time zone. default__ is written for Snowflake, Redshift,
    BigQuery and Databricks (sessions in UTC) and is not tested here. -#}

{#- Calendar hours from one instant to another (negative when to_ts comes first), to the microsecond. -#}
{% macro hours_between(from_ts, to_ts) -%}
    {{ return(adapter.dispatch('hours_between', 'usercom_tickets')(from_ts, to_ts)) }}
{%- endmacro %}
{% macro duckdb__hours_between(from_ts, to_ts) -%}
    ((epoch_us({{ to_ts }}) - epoch_us({{ from_ts }})) / 3600e6)
{%- endmacro %}
{% macro postgres__hours_between(from_ts, to_ts) -%}
    (cast(extract(epoch from ({{ to_ts }} - {{ from_ts }})) * 1000000 as bigint) / cast(3600e6 as double precision))
{%- endmacro %}
{% macro spark__hours_between(from_ts, to_ts) -%}
    ((unix_micros({{ to_ts }}) - unix_micros({{ from_ts }})) / 3600e6)
{%- endmacro %}
{% macro default__hours_between(from_ts, to_ts) -%}
    ({{ dbt.datediff(from_ts, to_ts, 'microsecond') }} / 3600e6)
{%- endmacro %}


{#- An instant shifted by a (possibly fractional) number of hours, rounded to the microsecond. -#}
{% macro add_hours(ts, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'usercom_tickets')(ts, hours)) }}
{%- endmacro %}
{% macro duckdb__add_hours(ts, hours) -%}
    ({{ ts }} + to_microseconds(cast(round(({{ hours }}) * 3600e6) as bigint)))
{%- endmacro %}
{% macro postgres__add_hours(ts, hours) -%}
    ({{ ts }} + cast(round(({{ hours }}) * 3600e6) as bigint) * interval '1 microsecond')
{%- endmacro %}
{% macro spark__add_hours(ts, hours) -%}
    timestamp_micros(unix_micros({{ ts }}) + cast(round(({{ hours }}) * 3600e6) as bigint))
{%- endmacro %}
{% macro default__add_hours(ts, hours) -%}
    {{ dbt.dateadd('microsecond', 'cast(round((' ~ hours ~ ') * 3600e6) as ' ~ dbt.type_bigint() ~ ')', ts) }}
{%- endmacro %}


{#- The UTC calendar day of an instant. -#}
{% macro utc_date(ts) -%}
    {{ return(adapter.dispatch('utc_date', 'usercom_tickets')(ts)) }}
{%- endmacro %}
{#- DuckDB: the instant's microseconds as a naive UTC timestamp; timezone('UTC', ...) gives the same
    through ICU at ~8x the CPU, which millions of rows a build feel. -#}
{% macro duckdb__utc_date(ts) %}cast(make_timestamp(epoch_us({{ ts }})) as date){% endmacro %}
{% macro postgres__utc_date(ts) %}cast(({{ ts }} at time zone 'UTC') as date){% endmacro %}
{% macro default__utc_date(ts) %}cast({{ ts }} as date){% endmacro %}


{#- Midnight UTC at the start of a day, as an instant. -#}
{% macro utc_midnight(day) -%}
    {{ return(adapter.dispatch('utc_midnight', 'usercom_tickets')(day)) }}
{%- endmacro %}
{% macro duckdb__utc_midnight(day) %}timezone('UTC', cast({{ day }} as timestamp)){% endmacro %}
{% macro postgres__utc_midnight(day) %}(cast({{ day }} as timestamp) at time zone 'UTC'){% endmacro %}
{% macro default__utc_midnight(day) %}cast({{ day }} as {{ usercom_tickets.type_timestamptz() }}){% endmacro %}


{#- The Monday (UTC) of the ISO week an instant falls in. -#}
{% macro utc_week_start(ts) -%}
    {{ return(adapter.dispatch('utc_week_start', 'usercom_tickets')(ts)) }}
{%- endmacro %}
{% macro default__utc_week_start(ts) -%}
    cast({{ dbt.date_trunc('week', usercom_tickets.utc_date(ts)) }} as date)
{%- endmacro %}
{% macro bigquery__utc_week_start(ts) %}date_trunc(date({{ ts }}), isoweek){% endmacro %}


{#- The ISO week (UTC) of an instant as text, e.g. 2024-W10. -#}
{% macro utc_iso_week(ts) -%}
    {{ return(adapter.dispatch('utc_iso_week', 'usercom_tickets')(ts)) }}
{%- endmacro %}
{% macro duckdb__utc_iso_week(ts) %}strftime(make_timestamp(epoch_us({{ ts }})), '%G-W%V'){% endmacro %}
{% macro postgres__utc_iso_week(ts) %}to_char(({{ ts }} at time zone 'UTC'), 'IYYY-"W"IW'){% endmacro %}
{% macro default__utc_iso_week(ts) %}to_char({{ ts }}, 'IYYY-"W"IW'){% endmacro %}
{% macro bigquery__utc_iso_week(ts) %}format_date('%G-W%V', date({{ ts }})){% endmacro %}
{% macro snowflake__utc_iso_week(ts) %}(yearofweekiso({{ ts }}) || '-W' || lpad(weekiso({{ ts }}), 2, '0')){% endmacro %}
{#- Spark (sessions in UTC: usercom-tickets sets spark.sql.session.timeZone), and Databricks through spark__ -#}
{% macro spark__utc_iso_week(ts) %}concat(cast(extract(yearofweek from {{ ts }}) as string), '-W', lpad(cast(weekofyear({{ ts }}) as string), 2, '0')){% endmacro %}


{#- One row per day from first_day to last_day (both included), in a column named `day`:
    `select day from {{ day_series(...) }}`, where the bounds are columns of `bounds_relation`. -#}
{% macro day_series(bounds_relation, first_day, last_day) -%}
    {{ return(adapter.dispatch('day_series', 'usercom_tickets')(bounds_relation, first_day, last_day)) }}
{%- endmacro %}
{% macro duckdb__day_series(bounds_relation, first_day, last_day) -%}
    (select cast(unnest(generate_series({{ first_day }}, {{ last_day }}, interval 1 day)) as date) as day
     from {{ bounds_relation }})
{%- endmacro %}
{% macro postgres__day_series(bounds_relation, first_day, last_day) -%}
    (select cast(series.day as date) as day
     from {{ bounds_relation }}
     cross join lateral generate_series({{ first_day }}, {{ last_day }}, interval '1 day') as series (day))
{%- endmacro %}
{% macro spark__day_series(bounds_relation, first_day, last_day) -%}
    (select explode(sequence({{ first_day }}, {{ last_day }}, interval 1 day)) as day from {{ bounds_relation }})
{%- endmacro %}
{% macro default__day_series(bounds_relation, first_day, last_day) -%}
    (select {{ dbt.dateadd('day', 'offsets.n', first_day) }} as day
     from {{ bounds_relation }}
     cross join (
        select row_number() over (order by null) - 1 as n
        from {{ ref('stg_tickets') }}
     ) as offsets
     where offsets.n <= {{ dbt.datediff(first_day, last_day, 'day') }})
{%- endmacro %}



{#- Microseconds from one instant to another, as a bigint (negative when to_ts comes first). -#}
{% macro microseconds_between(from_ts, to_ts) -%}
    {{ return(adapter.dispatch('microseconds_between', 'usercom_tickets')(from_ts, to_ts)) }}
{%- endmacro %}
{% macro duckdb__microseconds_between(from_ts, to_ts) -%}
    (epoch_us({{ to_ts }}) - epoch_us({{ from_ts }}))
{%- endmacro %}
{% macro postgres__microseconds_between(from_ts, to_ts) -%}
    cast(extract(epoch from ({{ to_ts }} - {{ from_ts }})) * 1000000 as bigint)
{%- endmacro %}
{% macro spark__microseconds_between(from_ts, to_ts) -%}
    (unix_micros({{ to_ts }}) - unix_micros({{ from_ts }}))
{%- endmacro %}
{% macro default__microseconds_between(from_ts, to_ts) -%}
    {{ dbt.datediff(from_ts, to_ts, 'microsecond') }}
{%- endmacro %}


{#- An instant shifted by a whole number of microseconds. -#}
{% macro add_microseconds(ts, microseconds) -%}
    {{ return(adapter.dispatch('add_microseconds', 'usercom_tickets')(ts, microseconds)) }}
{%- endmacro %}
{% macro duckdb__add_microseconds(ts, microseconds) -%}
    ({{ ts }} + to_microseconds(cast({{ microseconds }} as bigint)))
{%- endmacro %}
{% macro postgres__add_microseconds(ts, microseconds) -%}
    ({{ ts }} + ({{ microseconds }}) * interval '1 microsecond')
{%- endmacro %}
{% macro spark__add_microseconds(ts, microseconds) -%}
    timestamp_micros(unix_micros({{ ts }}) + cast({{ microseconds }} as bigint))
{%- endmacro %}
{% macro default__add_microseconds(ts, microseconds) -%}
    {{ dbt.dateadd('microsecond', microseconds, ts) }}
{%- endmacro %}


{#- Microseconds as hours (a double), the same division on every engine. -#}
{% macro microseconds_to_hours(microseconds) -%}
    (cast({{ microseconds }} as {{ usercom_tickets.type_double() }}) / 3600e6)
{%- endmacro %}


{#- Time zones, for the business-hours schedule (written for DuckDB, through its bundled ICU, PostgreSQL
    and Spark, through from_utc_timestamp/to_utc_timestamp and Java's time zone database; elsewhere a
    schedule fails the build with this message). All three read a wall time the spring-forward skips with
    the offset before the change (02:30 -> 03:30 summer time) and a wall time the fall-back repeats as its
    second occurrence (Spark's to_utc_timestamp gives the first: spark__local_wall_time moves it on). -#}
{% macro business_hours_unsupported() -%}
    {{ exceptions.raise_compiler_error("business hours ([business_hours] in the SLA policy) are implemented for DuckDB and PostgreSQL, not " ~ target.type ~ "; remove the schedule to build there") }}
{%- endmacro %}

{#- The local calendar date, in time zone `tz` (an IANA name), of an instant. -#}
{% macro local_date(ts, tz) -%}
    {{ return(adapter.dispatch('local_date', 'usercom_tickets')(ts, tz)) }}
{%- endmacro %}
{% macro duckdb__local_date(ts, tz) %}cast(timezone({{ dbt.string_literal(tz) }}, {{ ts }}) as date){% endmacro %}
{% macro postgres__local_date(ts, tz) %}cast(({{ ts }} at time zone {{ dbt.string_literal(tz) }}) as date){% endmacro %}
{% macro spark__local_date(ts, tz) %}to_date(from_utc_timestamp({{ ts }}, {{ dbt.string_literal(tz) }})){% endmacro %}
{% macro default__local_date(ts, tz) %}{{ usercom_tickets.business_hours_unsupported() }}{% endmacro %}

{#- The local wall-clock time (a timestamp without time zone) of an instant in time zone `tz`. -#}
{% macro local_timestamp(ts, tz) -%}
    {{ return(adapter.dispatch('local_timestamp', 'usercom_tickets')(ts, tz)) }}
{%- endmacro %}
{% macro duckdb__local_timestamp(ts, tz) %}timezone({{ dbt.string_literal(tz) }}, {{ ts }}){% endmacro %}
{% macro postgres__local_timestamp(ts, tz) %}(({{ ts }}) at time zone {{ dbt.string_literal(tz) }}){% endmacro %}
{#- Spark: a timestamp whose UTC reading is the wall time (the session's time zone is UTC) -#}
{% macro spark__local_timestamp(ts, tz) %}from_utc_timestamp({{ ts }}, {{ dbt.string_literal(tz) }}){% endmacro %}
{% macro default__local_timestamp(ts, tz) %}{{ usercom_tickets.business_hours_unsupported() }}{% endmacro %}

{#- The UTC offset of time zone `tz` at an instant, in microseconds (+3600000000 for UTC+1). -#}
{% macro utc_offset_us(ts, tz) -%}
    {{ return(adapter.dispatch('utc_offset_us', 'usercom_tickets')(ts, tz)) }}
{%- endmacro %}
{% macro duckdb__utc_offset_us(ts, tz) %}(epoch_us(timezone({{ dbt.string_literal(tz) }}, {{ ts }})) - epoch_us({{ ts }})){% endmacro %}
{% macro postgres__utc_offset_us(ts, tz) -%}
    cast(extract(epoch from (({{ ts }}) at time zone {{ dbt.string_literal(tz) }}) - (({{ ts }}) at time zone 'UTC')) * 1000000 as bigint)
{%- endmacro %}
{% macro spark__utc_offset_us(ts, tz) -%}
    (unix_micros(from_utc_timestamp({{ ts }}, {{ dbt.string_literal(tz) }})) - unix_micros({{ ts }}))
{%- endmacro %}
{% macro default__utc_offset_us(ts, tz) %}{{ usercom_tickets.business_hours_unsupported() }}{% endmacro %}

{#- The instant a local wall-clock time happens in time zone `tz`: `minutes` after midnight of the
    local date `day` (1440: the next midnight). -#}
{% macro local_wall_time(day, minutes, tz) -%}
    {{ return(adapter.dispatch('local_wall_time', 'usercom_tickets')(day, minutes, tz)) }}
{%- endmacro %}
{% macro duckdb__local_wall_time(day, minutes, tz) -%}
    timezone({{ dbt.string_literal(tz) }}, cast({{ day }} as timestamp) + to_minutes(cast({{ minutes }} as bigint)))
{%- endmacro %}
{% macro postgres__local_wall_time(day, minutes, tz) -%}
    ((cast({{ day }} as timestamp) + ({{ minutes }}) * interval '1 minute') at time zone {{ dbt.string_literal(tz) }})
{%- endmacro %}
{#- Spark: to_utc_timestamp reads a repeated wall time as its first occurrence; the second is the first
    moved on by the change (the offset then less the offset a day later), when that shows the same wall time. -#}
{% macro spark__local_wall_time(day, minutes, tz) -%}
    {%- set first = 'to_utc_timestamp(timestamp_micros(unix_micros(cast(' ~ day ~ ' as timestamp)) + cast(' ~ minutes
        ~ ' as bigint) * 60000000), ' ~ dbt.string_literal(tz) ~ ')' -%}
    {%- set change = '(' ~ usercom_tickets.utc_offset_us(first, tz) ~ ' - '
        ~ usercom_tickets.utc_offset_us(usercom_tickets.add_microseconds(first, '86400000000'), tz) ~ ')' -%}
    {%- set second = usercom_tickets.add_microseconds(first, change) -%}
    case
        when {{ change }} > 0
            and {{ usercom_tickets.local_timestamp(second, tz) }} = {{ usercom_tickets.local_timestamp(first, tz) }}
            then {{ second }}
        else {{ first }}
    end
{%- endmacro %}
{% macro default__local_wall_time(day, minutes, tz) %}{{ usercom_tickets.business_hours_unsupported() }}{% endmacro %}

{#- Like local_wall_time, but a wall time the fall-back repeats is its first occurrence: the later
    reading moved back by the change (the offset a day before less the offset then), when that instant
    shows the same wall time. Elsewhere the same instant as local_wall_time. -#}
{% macro first_local_wall_time(day, minutes, tz) -%}
    {%- set later = usercom_tickets.local_wall_time(day, minutes, tz) -%}
    {%- set change = '(' ~ usercom_tickets.utc_offset_us(later, tz) ~ ' - '
        ~ usercom_tickets.utc_offset_us(usercom_tickets.add_microseconds(later, '-86400000000'), tz) ~ ')' -%}
    {%- set earlier = usercom_tickets.add_microseconds(later, change) -%}
    case
        when {{ change }} < 0
            and {{ usercom_tickets.local_timestamp(earlier, tz) }} = {{ usercom_tickets.local_timestamp(later, tz) }}
            then {{ earlier }}
        else {{ later }}
    end
{%- endmacro %}

{#- The day of the week of a date, 0 = Sunday to 6 = Saturday. -#}
{% macro day_of_week(day) -%}
    {{ return(adapter.dispatch('day_of_week', 'usercom_tickets')(day)) }}
{%- endmacro %}
{% macro duckdb__day_of_week(day) %}dayofweek({{ day }}){% endmacro %}
{% macro spark__day_of_week(day) %}(dayofweek({{ day }}) - 1){% endmacro %}
{% macro default__day_of_week(day) %}cast(extract(dow from {{ day }}) as integer){% endmacro %}
