-- One row per logged run of the pipeline (raw table `runs`, appended by pipelines/run_log.py), typed;
-- no row at all before the first run was logged. Ephemeral: rpt_runs is its only reader.

{{ config(materialized='ephemeral') }}

{%- set bigint = dbt.type_bigint() %}
{%- set text = dbt.type_string() %}
{%- set instant = usercom_tickets.type_timestamptz() %}

{%- set raw_runs %}
    {{ usercom_tickets.select_raw_columns('runs', {
        'run_id': text, 'started_at': instant, 'finished_at': instant, 'outcome': text,
        'destination': text, 'statuses': text, 'pages': bigint, 'tickets_received': bigint,
        'tickets_loaded': bigint, 'tickets_rejected': bigint, 'tickets_deleted': bigint,
        'retries': bigint, 'throttled': bigint, 'seconds': usercom_tickets.type_double(), 'error': text,
    }) }}
{%- endset %}

with

source as (

    {{ usercom_tickets.one_row_per_key(raw_runs, ['run_id'], 'finished_at desc', 'run_id is not null and started_at is not null') }}

),

renamed as (

    select
        run_id,
        started_at,
        finished_at,
        lower(trim(outcome)) as outcome,
        destination,
        statuses,
        pages,
        tickets_received,
        tickets_loaded,
        tickets_rejected,
        tickets_deleted,
        retries,
        throttled,
        seconds,
        error
    from source

)

select * from renamed
