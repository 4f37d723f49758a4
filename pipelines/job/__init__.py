"""The nightly job end to end: `run_job` (nightly.py) is the one entry point that the command line, Airflow,
Dagster and library users call.

    pipeline.py       the dlt pipeline of a data directory: name, dataset, DuckDB file, load settings
    preflight.py      refusals before anything stored is touched (marts destination, policy)
    extract_load.py   extract, load and the deletion check, with the safety copy
    held_signals.py   a signal while dlt loads: its statements cancelled, the signal kept so the job stops
    open_statements.py the connections dlt's SQL clients hold while it loads, and cancelling what they run
    resume.py         the packages an interrupted run left, loaded first
    duckdb_session.py the local DuckDB file held open, its memory bounded, while dlt loads
    file_modes.py     files for their owner only
    raw_parquet.py    the `parquet` destination's snapshot of the raw tables
    publish.py        the marts built, tested and published
    events.py         what the job tells its caller while it runs
    summary.py        the figures a run ends with
"""

from pipelines.job.nightly import run_job
from pipelines.job.summary import JobResult, PublishedMarts, RunSummary

__all__ = ["JobResult", "PublishedMarts", "RunSummary", "run_job"]
