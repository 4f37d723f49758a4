-- One row per logged run of the pipeline: what a dashboard watching the nightly job reads. Every run
-- logged, whatever as_of says: the run log is about the job, not about the tickets.

with

runs as (

    select * from {{ ref('stg_runs') }}

)

select
    run_id,
    started_at,
    finished_at,
    {{ usercom_tickets.utc_date('started_at') }} as run_day,
    outcome,
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
from runs
