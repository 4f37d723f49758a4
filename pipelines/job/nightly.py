"""A night's job end to end, the one entry point of the package: lock, crash resume, extract and load, deletions,
run log, then the marts built and published.

The command line's `run` and `demo`, a library user, an Airflow task and a Dagster asset all call `run_job` and get
every safety net: the safety copy of the DuckDB file, the deletion check, the run-log row, the resume of an
interrupted run's packages, the data directory's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pipelines.deletion_guard import max_unlisted_share as configured_share
from pipelines.error_text import interruption
from pipelines.job.events import JobEvents, QuietEvents
from pipelines.job.extract_load import extract_and_load
from pipelines.job.pipeline import DATASET_NAME, LOCAL_DESTINATIONS, data_dir, local_destination
from pipelines.job.preflight import check_before_loading
from pipelines.job.publish import build_and_publish
from pipelines.job.raw_parquet import publish_raw_parquet
from pipelines.job.summary import JobResult
from pipelines.run_log import RunLog, configured_api_key
from pipelines.run_setup import interrupt_for, prepared_run, use_system_allocator
from pipelines.usercom.stopping import allow_requests, stop_requests


def run_job(
    directory: Path | str | None = None,
    *,
    destination: str = "duckdb",
    statuses: Sequence[str] | None = None,
    full_refresh: bool = False,
    transform: bool = True,
    as_of: datetime | None = None,
    policy: Path | str | None = None,
    lock_wait_seconds: float = 0.0,
    max_unlisted_share: float | None = None,
    source_overrides: dict | None = None,
    events: JobEvents | None = None,
) -> JobResult:
    """Runs one night: extracts and loads the tickets into `directory` (default USERCOM_DATA_DIR or ./data) on
    `destination`, then (unless `transform` is false) builds the SLA marts there and publishes them.

    A run that cannot build the marts (a destination they are not written for, a policy file that does not read)
    or has a bad `max_unlisted_share` is refused before anything is touched. Then the run takes the directory's
    lock (waiting up to `lock_wait_seconds` for another run), loads what an interrupted run left, extracts and
    loads (a failure puts the previous data back and moves no cursor), checks for deleted tickets and writes its
    row in `usercom.runs`, whatever the outcome. A complete run that did not list more than `max_unlisted_share`
    of the live tickets (default `usercom_max_unlisted_share`, else 0.2) marks none: `summary.deletions_held`.
    `source_overrides` are explicit arguments of the `usercom` source (tests, the sandbox); `events` is told each
    step as it happens (the command line prints them). Raises what stopped the run, with the row written;
    returns the load's summary and the published marts.
    """
    use_system_allocator()
    directory = Path(directory).resolve() if directory else data_dir()
    policy = Path(policy) if policy else None
    events = events or QuietEvents()
    check_before_loading(destination, transform, policy)
    share = configured_share(max_unlisted_share)  # a bad value is refused before anything is touched
    allow_requests()
    with prepared_run(directory, lock_wait_seconds):
        run_log = _start_run_log(directory, destination, statuses, source_overrides)
        try:
            with events.extracting() as progress:
                summary = extract_and_load(directory, run_log.report, destination=destination, statuses=statuses,
                                           full_refresh=full_refresh, source_overrides=source_overrides,
                                           progress=progress, max_unlisted_share=share)
            summary.run_id, summary.seconds = run_log.run_id, run_log.elapsed()
        except BaseException as error:
            if interruption(error) is not None:
                stop_requests()  # the listings stop before the row is written, its duration their whole life
            run_log.failed(error)
            raise
        run_log.succeeded(summary)
        if destination == "parquet":  # after the row: the snapshot holds it too
            summary.parquet_dir = publish_raw_parquet(directory)
            summary.seconds = run_log.elapsed()
        events.loaded(summary)
        if summary.stopped_by is not None:  # it came while dlt loaded, and the load ended first: committed
            raise interrupt_for(summary.stopped_by)
        if not transform:
            return JobResult(summary)
        marts = build_and_publish(directory, destination, as_of, policy)
        events.published(marts)
        return JobResult(summary, marts)


def _start_run_log(directory: Path, destination: str, statuses: Sequence[str] | None,
                   source_overrides: dict | None) -> RunLog:
    """The run's row in `runs`, on the destination and dataset the tickets load into."""
    from pipelines.usercom.source_config import configured_statuses

    target = local_destination(directory, destination) if destination in LOCAL_DESTINATIONS else destination
    asked = statuses or (source_overrides or {}).get("statuses") or configured_statuses()
    return RunLog(target, destination, DATASET_NAME, list(asked), secrets=[configured_api_key(source_overrides)])
