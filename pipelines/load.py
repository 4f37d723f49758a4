"""Runs the `usercom` pipeline: builds it on the data directory, loads, and summarises the run."""

from __future__ import annotations

import logging
import re
import shutil
import stat
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dlt
import duckdb
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.destination.configuration import ParquetFormatConfiguration

from pipelines.parquet_publish import publish_parquet, schema_tables
from pipelines.run_log import RunLog, configured_api_key
from pipelines.run_setup import prepared_run, use_system_allocator
from pipelines.safety_copy import SafetyCopy, failed_while_loading
from pipelines.usercom import settings
from pipelines.usercom.errors import UsercomConfigError, missing_config_error
from pipelines.usercom.run.progress import ListingProgress
from pipelines.usercom.run.report import RunReport

if TYPE_CHECKING:
    from dlt.destinations.job_client_impl import SqlJobClientBase

PIPELINE_NAME = "usercom"
DATASET_NAME = "usercom"
DUCKDB_FILE = "tickets.duckdb"
LOCAL_DESTINATIONS = ("duckdb", "parquet")
# while loading; USERCOM_DUCKDB_MEMORY_LIMIT (or usercom_duckdb_memory_limit) overrides. Peak RSS / load time
# (2 cores): 1,000,000 tickets 523 MB / 10.7 s at 256MB, 458 / 12.9 at 192MB, 402 / 15.2 at 128MB; the
# 100,000-ticket load takes ~0.2 s longer at 192MB than at 256MB.
DUCKDB_MEMORY_LIMIT = "192MB"

log = logging.getLogger("usercom.load")


def data_dir() -> Path:
    """The folder of every output: USERCOM_DATA_DIR (env or dlt config `usercom_data_dir`), default ./data."""
    configured = dlt.config.get("usercom_data_dir", str)
    return Path(configured or "data").resolve()


# dlt's load settings this pipeline wants unless the user's [load] config says otherwise: the staging copy of each
# load is emptied after the merge (it doubled the DuckDB file, and the final checkpoint wrote it: 0.66 -> 0.37 s
# at 100,000 tickets), and loaded packages keep no copy of their files (a nightly run would add one each night)
LOAD_DEFAULTS = {"load.truncate_staging_dataset": True, "load.delete_completed_jobs": True}


def make_pipeline(directory: Path, destination: str = "duckdb") -> dlt.Pipeline:
    """The `usercom` pipeline; its state lives under `directory` so each data directory stands alone.

    `duckdb` and `parquet` load into `<directory>/tickets.duckdb` (parquet then publishes snapshots);
    any other name is a dlt destination configured through dlt's own config.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in LOAD_DEFAULTS.items():
        if dlt.config.get(key) is None:
            dlt.config[key] = value
    # tables load side by side (1.53 -> 1.15 s at 100,000 tickets); a load that fails half-way, a full disk
    # included, is undone by the run's safety copy of the database (safety_copy.py). The load files live
    # minutes on the local disk: uncompressed, DuckDB reads them faster (load 1.47 -> 1.31 s at 100,000 tickets);
    # a [data_writer] compression setting still wins.
    local_files = ParquetFormatConfiguration()
    local_files.compression = "none"
    target = (dlt.destinations.duckdb(str(directory / DUCKDB_FILE), loader_parallelism_strategy="table-sequential",
                                      parquet_format=local_files)
              if destination in LOCAL_DESTINATIONS else destination)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(directory / ".dlt"),
        destination=target,
        dataset_name=DATASET_NAME,
    )


@dataclass
class RunSummary:
    """The figures a run ends with."""

    report: RunReport
    seconds: float
    tickets_before: int
    tickets_after: int
    location: str
    parquet_dir: Path | None = None
    load_ids: list[str] = field(default_factory=list)
    resumed_load_ids: list[str] = field(default_factory=list)  # packages an interrupted run left, loaded first
    tickets_deleted: int = 0  # marked deleted by this run: two complete runs in a row did not list them (deletions.py)
    tickets_restored: int = 0  # marked deleted before, listed again by this run: live again
    tickets_unlisted: int = 0  # live tickets this complete run did not list: marked if the next complete run misses them too
    run_id: str = ""  # the run's row in the run log (`usercom.runs`)

    @property
    def new_tickets(self) -> int:
        """Tickets that were not in the destination before this run."""
        return self.tickets_after - self.tickets_before

    @property
    def rejected(self) -> int:
        """Tickets of this run that went to `tickets_rejected`."""
        return sum(x.rejected for x in self.report.listings.values())

    def _api_notes(self) -> list[str]:
        """Lines on the API's behaviour this run met and coped with (shared/usercom-api.md, reported quirks)."""
        out = []
        evidence = self.report.filter_ignored
        if evidence is not None:
            out.append(f"warning: the API ignored the status filter ({evidence.others} of the {evidence.tickets} tickets on the "
                       f"first page of `{evidence.status}` had other statuses): every ticket was listed once, without it, "
                       "instead of once per status")
        for x in self.report.listings.values():
            if x.ended_on_404:
                out.append(f"note: {'all' if x.unfiltered else x.status}: the last page's `next` link answered 404 after "
                           "every ticket of the API's count was received; taken as the listing's end (a known quirk of the API)")
        if self.report.throttles:
            paced = f"; requests were paced at {self.report.paced_at:.1f}/s by the end" if self.report.paced_at else ""
            out.append(f"the API throttled {self.report.throttles} request(s) (429, or 401 after the key was accepted), "
                       f"each retried{paced}")
        return out

    def lines(self) -> list[str]:
        """The summary as terminal lines."""
        out = []
        if self.resumed_load_ids:
            out.append(f"finished {len(self.resumed_load_ids)} load package(s) an interrupted run had left "
                       f"({', '.join(self.resumed_load_ids)}) before extracting")
        out += [f"{'status':<10}{'pages':>7}{'received':>10}{'api count':>11}{'loaded':>9}{'unchanged':>11}{'rejected':>10}"]
        listed = [x for x in self.report.listings.values() if not x.stopped]
        for x in listed:
            out.append(f"{'all' if x.unfiltered else x.status:<10}{x.pages:>7}{x.received:>10}"
                       f"{x.api_count if x.api_count is not None else '-':>11}{x.kept:>9}{x.skipped_unchanged:>11}"
                       f"{x.rejected:>10}")
        out += self._api_notes()
        for x in listed:
            if x.api_count_last is not None and x.api_count is not None and x.api_count_last != x.api_count:
                out.append(f"warning: {x.status}: the API's count changed from {x.api_count} to {x.api_count_last} "
                           "while paging (tickets added or moved meanwhile; the next run picks them up)")
            if x.count_mismatch:
                out.append(f"warning: {x.status}: received {x.received} tickets but the API's count said {x.api_count} "
                           "(tickets changed status while paging; the next run picks them up)")
        loaded = sum(x.kept for x in self.report.listings.values())
        out.append(f"{loaded} tickets loaded ({self.new_tickets} new, {loaded - self.new_tickets} updated or re-read), "
                   f"{self.rejected} rejected, {self.tickets_after} in total, in {self.seconds:.1f} s")
        if self.report.repeated:
            out.append(f"{self.report.repeated} ticket(s) changed status while paging and were read twice; "
                       "the newest version was kept")
        if self.report.complete_run is not None:
            out.append(f"{self.tickets_deleted} ticket(s) marked deleted (not listed by two complete runs in a row), "
                       f"{self.tickets_restored} came back")
        else:  # the nightly log says why nothing was marked
            out.append("deletions not checked: this run did not list every status to its end"
                       + (f"; {self.tickets_restored} ticket(s) marked deleted came back" if self.tickets_restored else ""))
        if self.tickets_unlisted:
            out.append(f"{self.tickets_unlisted} ticket(s) not listed by this run: marked deleted if the next complete "
                       "run does not list them either")
        if self.rejected:
            out.append(f"rejected tickets are kept with their raw JSON and reason in {DATASET_NAME}.{settings.REJECTS_TABLE}")
        out.append(f"data: {self.location}" + (f"; parquet: {self.parquet_dir}" if self.parquet_dir else ""))
        return out


def run_pipeline(
    directory: Path,
    *,
    destination: str = "duckdb",
    statuses: Sequence[str] | None = None,
    full_refresh: bool = False,
    source_overrides: dict | None = None,
    lock_wait_seconds: float = 0.0,
    progress: ListingProgress | None = None,
) -> RunSummary:
    """Extracts and loads every listed status; `source_overrides` passes explicit source arguments (tests).

    The entry point for library users: sets the run up first (run_setup.py: Arrow on the system allocator, every
    file readable by its owner only, the data directory's run lock, waiting up to `lock_wait_seconds` for another
    run), then `extract_and_load`. `progress` is told each listing's figures (default: log lines).
    """
    use_system_allocator()
    with prepared_run(directory, lock_wait_seconds):
        return extract_and_load(directory, destination=destination, statuses=statuses, full_refresh=full_refresh,
                                source_overrides=source_overrides, progress=progress)


def extract_and_load(
    directory: Path,
    *,
    destination: str = "duckdb",
    statuses: Sequence[str] | None = None,
    full_refresh: bool = False,
    source_overrides: dict | None = None,
    progress: ListingProgress | None = None,
) -> RunSummary:
    """`run_pipeline` inside a run already set up by its caller (`run_setup.prepared_run`): the command line holds
    one setup over the load and the marts build.

    Whatever its outcome, the run leaves its row in `usercom.runs` (run_log.py): after the load (before the Parquet
    snapshot, which then holds it too), or after a failure was handled; writing it never fails the run.
    """
    run_log = _run_log(directory, destination, statuses, source_overrides)
    try:
        summary = _extract_and_load(directory, run_log.report, destination=destination, statuses=statuses,
                                    full_refresh=full_refresh, source_overrides=source_overrides, progress=progress)
        summary.run_id, summary.seconds = run_log.run_id, run_log.elapsed()
    except BaseException as error:
        run_log.failed(error)
        raise
    run_log.succeeded(summary)
    if destination == "parquet":
        summary.parquet_dir = _publish_raw_parquet(directory)
        summary.seconds = run_log.elapsed()
    return summary


def _extract_and_load(
    directory: Path,
    report: RunReport,
    *,
    destination: str,
    statuses: Sequence[str] | None,
    full_refresh: bool,
    source_overrides: dict | None,
    progress: ListingProgress | None,
) -> RunSummary:
    """Extracts and loads, filling in `report`, then marks deleted tickets; a failure leaves the destination and the
    cursor as they were, and marks nothing."""
    # here, not at the top: they load pyarrow, after the run chose its allocator
    from pipelines.deletions import Deletions, destination_session
    from pipelines.usercom.source import usercom

    _warn_if_readable_by_others(Path.cwd() / ".dlt" / "secrets.toml")
    run_at = datetime.now(UTC)
    pipeline = make_pipeline(directory, destination)
    _restrict(directory)
    kwargs = dict(source_overrides or {})
    if statuses:
        kwargs["statuses"] = list(statuses)
    try:
        source = usercom(full_refresh=full_refresh, report=report, progress=progress, **kwargs)
    except ConfigFieldMissingException as error:
        raise missing_config_error(error) from None
    # a load that fails half-way must leave the previous data as it was: keep a copy to put back
    safety = SafetyCopy(directory / DUCKDB_FILE) if destination in LOCAL_DESTINATIONS else None
    if safety:
        safety.take()
    try:
        with _database_held_open(directory / DUCKDB_FILE if safety else None):
            resumed = finish_interrupted_run(pipeline)
            deletions = Deletions()
            with destination_session(pipeline) as client:
                before = count_tickets(client)
                deletions.before_load(client)
            info = pipeline.run(source, loader_file_format="parquet")
            info.raise_on_failed_jobs()
            with destination_session(pipeline) as client:
                after = count_tickets(client)
                # in a transaction of its own: a failed run never gets here, so it marks nothing
                deleted = deletions.after_load(client, report.listed.take(), report.complete_run, run_at)
    except Exception as error:
        if safety and failed_while_loading(error):
            safety.restore(pipeline)
        raise
    if safety:
        safety.discard()
    _restrict(directory)
    summary = RunSummary(
        report=report, seconds=0.0, tickets_before=before, tickets_after=after,
        location=_location(pipeline, directory, destination), load_ids=list(info.loads_ids),
        resumed_load_ids=resumed, tickets_deleted=deleted.marked, tickets_restored=deleted.restored,
        tickets_unlisted=deleted.unlisted,
    )
    return summary


def _run_log(directory: Path, destination: str, statuses: Sequence[str] | None, source_overrides: dict | None) -> RunLog:
    """The run's row in `runs`, on the destination and dataset the tickets load into."""
    from pipelines.usercom.source import configured_statuses

    target = dlt.destinations.duckdb(str(directory / DUCKDB_FILE)) if destination in LOCAL_DESTINATIONS else destination
    asked = statuses or (source_overrides or {}).get("statuses") or configured_statuses()
    return RunLog(target, destination, DATASET_NAME, list(asked), secrets=[configured_api_key(source_overrides)])


def _publish_raw_parquet(directory: Path) -> Path:
    """`<directory>/parquet/usercom/<table>.parquet` for every raw table, exactly the current state."""
    out_dir = directory / "parquet" / DATASET_NAME
    with duckdb.connect(str(directory / DUCKDB_FILE), read_only=True) as con:
        publish_parquet(con, schema_tables(con, DATASET_NAME), out_dir, DATASET_NAME, remove_others=True)
    return out_dir


@contextmanager
def _database_held_open(database: Path | None):
    """Keeps one connection to `database` open while dlt loads into it.

    DuckDB checkpoints a file when its last connection closes, and dlt opens and closes its own for every
    load job: at 100,000 tickets that was 18 opens and checkpoints, 1.2 s of a 2.7 s load. While this
    connection is open, dlt's connections (same file, same process) share the open database, and the
    file is checkpointed once, when this one closes.

    It also bounds DuckDB's memory for the load (`usercom_duckdb_memory_limit`, default 192 MB; insertion
    order is not kept, which merges do not need): dlt sets `checkpoint_threshold` to 1 GB, so every table
    it loads stays in memory until the end, and unbounded a 1,000,000-ticket load took 1.5 GB. One thread
    per query, as tables already load side by side: the load at 100,000 tickets took 1.0 s instead of
    1.25 s, and at 1,000,000 11.9 s instead of 13.9 s (2 cores).
    """
    if database is None:
        yield
        return
    connection = duckdb.connect(str(database))
    limit = dlt.config.get("usercom_duckdb_memory_limit", str) or DUCKDB_MEMORY_LIMIT
    try:
        connection.execute("SET memory_limit = ?", [limit])
        connection.execute("SET preserve_insertion_order = false")
        connection.execute("SET threads = 1")
    except duckdb.Error as error:
        connection.close()
        raise UsercomConfigError(f"usercom_duckdb_memory_limit = {limit!r} was refused by DuckDB ({str(error).splitlines()[0]}); "
                                 "give a size such as '512MB' or '2GB'.") from None
    try:
        yield
    finally:
        try:
            connection.close()
        except duckdb.Error as error:  # a failed load is reported by dlt's error; a clean one checkpoints here
            log.warning("closing %s: %s", database, str(error).splitlines()[0])


def finish_interrupted_run(pipeline: dlt.Pipeline) -> list[str]:
    """Loads the packages a killed or failed run left behind, and returns their load ids.

    Left alone, dlt's `run` would load them and return without extracting, so the night after a crash
    would skip the API. Each package holds a complete extract and the cursor state of its run; loading it
    first and then extracting anew ends with exactly the data of an uninterrupted run.
    """
    _remove_orphaned_extracts(pipeline)
    if not pipeline.has_pending_data:
        return []
    log.warning("an earlier run was interrupted after extracting: loading the packages it left before extracting anew")
    info = pipeline.run()
    if info is None:
        return []
    info.raise_on_failed_jobs()
    return list(info.loads_ids)


def _remove_orphaned_extracts(pipeline: dlt.Pipeline) -> None:
    """Deletes the half-written extract folders of killed runs (dlt names each `<16 hex>` under normalize/ and
    never reads it again); safe under the run lock, when no other extract can be writing."""
    folder = Path(pipeline.working_dir) / "normalize"
    for path in folder.glob("*") if folder.is_dir() else []:
        if path.is_dir() and re.fullmatch(r"[0-9a-f]{16}", path.name):
            log.info("removing %s, the unfinished extract of an interrupted run", path)
            shutil.rmtree(path, ignore_errors=True)


def _restrict(directory: Path) -> None:
    """The DuckDB file (and its WAL) readable by the owner only, and dlt's state folder private, whatever created them."""
    private = ((directory / DUCKDB_FILE, 0o600), (directory / (DUCKDB_FILE + ".wal"), 0o600), (directory / ".dlt", 0o700))
    for path, mode in private:
        try:
            if path.exists():
                path.chmod(mode)
        except OSError as error:  # not ours to change (or read-only): the next write says so clearly
            log.debug("could not restrict %s: %s", path, error)


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users (mode %s): run `chmod 600 %s`", path, oct(mode & 0o777), path)


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


def _location(pipeline: dlt.Pipeline, directory: Path, destination: str) -> str:
    if destination in LOCAL_DESTINATIONS:
        return f"{directory / DUCKDB_FILE} (schema {DATASET_NAME})"
    return f"{destination} dataset {pipeline.dataset_name}"
