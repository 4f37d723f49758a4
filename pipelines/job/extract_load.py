"""Extract and load of one run, then the deletion check: a failure leaves the destination and the cursor as they
were, and marks nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.error_text import interruption
from pipelines.job.duckdb_session import database_held_open
from pipelines.job.file_modes import restrict, warn_if_readable_by_others
from pipelines.job.held_signals import statements_cancelled_on_signal
from pipelines.job.pipeline import DUCKDB_FILE, LOCAL_DESTINATIONS, location, make_pipeline
from pipelines.job.resume import finish_interrupted_run, remove_orphaned_extracts
from pipelines.job.stored_state import StoredState
from pipelines.job.summary import RunSummary
from pipelines.run_setup import interrupt_for
from pipelines.safety_copy import SafetyCopy, failed_in_step, failed_while_loading
from pipelines.usercom import settings
from pipelines.usercom.run.progress import ListingProgress
from pipelines.usercom.run.report import RunReport

if TYPE_CHECKING:
    from dlt.destinations.job_client_impl import SqlJobClientBase


def extract_and_load(
    directory: Path,
    report: RunReport,
    *,
    destination: str,
    statuses: Sequence[str] | None,
    full_refresh: bool,
    source_overrides: dict | None,
    progress: ListingProgress | None,
    max_unlisted_share: float,
) -> RunSummary:
    """Extracts and loads every listed status into `directory`'s pipeline, filling in `report`, then marks deleted
    tickets, held back by the guard's `max_unlisted_share` (deletions.py). Runs inside a run set up by
    `pipelines.job.run_job` (the lock held, the allocator chosen)."""
    # here, not at the top: they load pyarrow, after the run chose its allocator
    from pipelines.deletions import Deletions, destination_session

    warn_if_readable_by_others(Path.cwd() / ".dlt" / "secrets.toml")
    run_at = datetime.now(UTC)
    stored = StoredState(directory)  # a run refused before it extracts puts these back
    extracting = False
    safety = SafetyCopy(directory / DUCKDB_FILE) if destination in LOCAL_DESTINATIONS else None
    # SIGINT/SIGTERM while dlt normalized or loaded: its statements were cancelled, the job stops (held_signals.py)
    seen: list[int] = []
    try:
        pipeline = make_pipeline(directory, destination)
        restrict(directory)
        source = _source(report, statuses, full_refresh, source_overrides, progress)
        # a load that fails half-way must leave the previous data as it was: keep a copy to put back
        if safety:
            safety.take()
        with database_held_open(directory / DUCKDB_FILE if safety else None):
            with statements_cancelled_on_signal(seen):
                resumed = finish_interrupted_run(pipeline)
            extracting = bool(resumed)
            if seen:  # the packages of the run before are loaded; this one stops before it extracts
                raise interrupt_for(seen[0])
            deletions = Deletions(max_unlisted_share)
            with destination_session(pipeline) as client:
                before = count_tickets(client)
                deletions.before_load(client)
            extracting = True
            with statements_cancelled_on_signal(seen):
                info = pipeline.run(source, loader_file_format="parquet")
            info.raise_on_failed_jobs()
            with destination_session(pipeline) as client:
                after = count_tickets(client)
                # in a transaction of its own: a failed run never gets here, so it marks nothing
                deleted = deletions.after_load(client, report.listed.take(), report.complete_run, run_at)
    except BaseException as error:
        if safety and failed_while_loading(error):
            safety.restore(pipeline)
        if not extracting or failed_in_step(error, "extract"):  # no package holds anything of this run
            stored.put_back()
            if extracting:
                remove_orphaned_extracts(pipeline, left_by_this_run=True)  # else left until the next run
        if seen and interruption(error) is None:  # a cancelled statement's error: the run was stopped
            raise interrupt_for(seen[0]) from error
        raise
    if safety:
        safety.discard()
    restrict(directory)
    return RunSummary(
        report=report, seconds=0.0, tickets_before=before, tickets_after=after,
        location=location(directory, destination), load_ids=list(info.loads_ids),
        resumed_load_ids=resumed, tickets_deleted=deleted.marked, tickets_restored=deleted.restored,
        tickets_unlisted=deleted.unlisted, deletions_held=deleted.held, live_tickets=deleted.live,
        max_unlisted_share=max_unlisted_share, stopped_by=seen[0] if seen else None,
    )


def _source(report: RunReport, statuses: Sequence[str] | None, full_refresh: bool, source_overrides: dict | None,
            progress: ListingProgress | None):
    """The `usercom` source of the run, its settings read by dlt (`source_overrides` win); a missing one is named."""
    from pipelines.usercom.source import usercom
    from pipelines.usercom.source_config import source_settings

    kwargs = dict(source_overrides or {})
    if statuses:
        kwargs["statuses"] = list(statuses)
    return usercom(source_settings(**kwargs), full_refresh=full_refresh, report=report, progress=progress)


def count_tickets(client: SqlJobClientBase | None) -> int:
    """Rows of `tickets` in the destination, through its open job client (deletions.destination_session); 0 before the
    first load or without a client."""
    if client is None:
        return 0
    sql = client.sql_client
    try:
        return int(sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(settings.TICKETS_TABLE)}")[0][0])
    except Exception:  # the dataset or table does not exist yet
        return 0
