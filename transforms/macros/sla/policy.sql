{#- The SLA policy, from the project's vars (transforms/sla_policy.toml when run by usercom-tickets). -#}

{#- The instant every time-dependent metric is computed for: the environment variable USERCOM_AS_OF
    when set, else the var usercom_as_of; "now" meaning the start of the build. usercom-tickets sets
    the environment variable: dbt re-parses only the models that read a changed one, the whole
    project when a var changes. -#}
{% macro as_of() -%}
    {%- set value = (env_var('USERCOM_AS_OF', '') or var('usercom_as_of')) | string -%}
    {%- if value | lower | trim == 'now' -%}
        cast({{ dbt.current_timestamp() }} as {{ usercom_tickets.type_timestamptz() }})
    {%- else -%}
        cast({{ dbt.string_literal(value) }} as {{ usercom_tickets.type_timestamptz() }})
    {%- endif -%}
{%- endmacro %}


{#- When this build started: dbt's `run_started_at` (UTC, one instant for every model of a `dbt build`), read at
    compile time, so it changes with every build without a re-parse; not a var (a changed var re-parses the project). -#}
{% macro built_at() -%}
    {%- if run_started_at is none -%}
        cast({{ dbt.current_timestamp() }} as {{ usercom_tickets.type_timestamptz() }})
    {%- else -%}
        cast({{ dbt.string_literal(run_started_at.isoformat()) }} as {{ usercom_tickets.type_timestamptz() }})
    {%- endif -%}
{%- endmacro %}

{#- True when `status` is one of the statuses in the list var `list_var`; false for none (and null stays null). -#}
{% macro status_in(status, list_var) -%}
    {%- set statuses = var(list_var) -%}
    {%- if statuses | length == 0 -%}
        ({{ status }} is not null and 1 = 0)
    {%- else -%}
        ({{ status }} in ({% for s in statuses %}{{ dbt.string_literal(s | lower) }}{{ ", " if not loop.last }}{% endfor %}))
    {%- endif -%}
{%- endmacro %}

{% macro is_terminal(status) %}{{ usercom_tickets.status_in(status, 'usercom_terminal_statuses') }}{% endmacro %}

{% macro stops_clock(status) %}{{ usercom_tickets.status_in(status, 'usercom_clock_stopping_statuses') }}{% endmacro %}

{#- The end of a backlog day: the next UTC midnight, or as_of on the day of as_of. -#}
{% macro day_snapshot_at(day, as_of) -%}
    case
            when {{ usercom_tickets.utc_midnight(dbt.dateadd('day', 1, day)) }} < {{ as_of }}
                then {{ usercom_tickets.utc_midnight(dbt.dateadd('day', 1, day)) }}
            else {{ as_of }}
        end
{%- endmacro %}
