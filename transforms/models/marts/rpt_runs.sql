-- One row per logged run of the pipeline: what a dashboard watching the nightly job reads. The raw
-- table `runs` (appended by pipelines/run_log.py) typed, one row per run_id; no row at all before the
-- first run was logged. Every run logged, whatever as_of says: the log is about the job, not the tickets.

{%- set bigint = dbt.type_bigint() %}
{%- set text = dbt.type_string() %}
{%- set instant = usercom_tickets.type_timestamptz() %}

{%- set raw_runs %}
    {{ usercom_tickets.select_raw_columns('runs', {
        'run_id': text, 'started_at': instant, 'finished_at': instant, 'outcome': text,
        'destination': text, 'statuses': text, 'pages': bigint, 'tickets_received': bigint,
        'tickets_loaded': bigint, 'tickets_rejected': bigint, 'tickets_deleted': bigint,
        'deletions_held': bigint,
        'retries': bigint, 'throttled': bigint, 'seconds': usercom_tickets.type_double(), 'error': text,
    }) }}
{%- endset %}

with

runs as (

    {{ usercom_tickets.one_row_per_key(raw_runs, ['run_id'], 'finished_at desc', 'run_id is not null and started_at is not null') }}

)

select
    run_id,
    started_at,
    finished_at,
    {{ usercom_tickets.utc_date('started_at') }} as run_day,
    lower(trim(outcome)) as outcome,
    destination,
    statuses,
    pages,
    tickets_received,
    tickets_loaded,
    tickets_rejected,
    tickets_deleted,
    deletions_held,
    retries,
    throttled,
    seconds,
    error
from runs
