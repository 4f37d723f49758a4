"""Runs the `usercom` pipeline: builds it on the data directory, loads, and summarises the run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.parquet_publish import publish_parquet
from pipelines.usercom import settings
from pipelines.usercom.errors import UsercomConfigError
from pipelines.usercom.source import RunReport, usercom

PIPELINE_NAME = "usercom"
DATASET_NAME = "usercom"
DUCKDB_FILE = "tickets.duckdb"
LOCAL_DESTINATIONS = ("duckdb", "parquet")


def data_dir() -> Path:
    """The folder of every output: USERCOM_DATA_DIR (env or dlt config `usercom_data_dir`), default ./data."""
    configured = dlt.config.get("usercom_data_dir", str)
    return Path(configured or "data").resolve()


def make_pipeline(directory: Path, destination: str = "duckdb") -> dlt.Pipeline:
    """The `usercom` pipeline; its state lives under `directory` so each data directory stands alone.

    `duckdb` and `parquet` load into `<directory>/tickets.duckdb` (parquet then publishes snapshots);
    any other name is a dlt destination configured through dlt's own config.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = dlt.destinations.duckdb(str(directory / DUCKDB_FILE)) if destination in LOCAL_DESTINATIONS else destination
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
    parquet_dir: Optional[Path] = None
    load_ids: list[str] = field(default_factory=list)

    @property
    def new_tickets(self) -> int:
        """Tickets that were not in the destination before this run."""
        return self.tickets_after - self.tickets_before

    @property
    def rejected(self) -> int:
        """Tickets of this run that went to `tickets_rejected`."""
        return sum(x.rejected for x in self.report.listings.values())

    def lines(self) -> list[str]:
        """The summary as terminal lines."""
        out = [f"{'status':<10}{'pages':>7}{'received':>10}{'api count':>11}{'loaded':>9}{'unchanged':>11}{'rejected':>10}"]
        for x in self.report.listings.values():
            out.append(f"{x.status:<10}{x.pages:>7}{x.received:>10}{x.api_count if x.api_count is not None else '-':>11}"
                       f"{x.kept:>9}{x.skipped_unchanged:>11}{x.rejected:>10}")
        for x in self.report.listings.values():
            if x.count_mismatch:
                out.append(f"warning: {x.status}: received {x.received} tickets but the API's count said {x.api_count} "
                           "(tickets changed status while paging; the next run picks them up)")
        loaded = sum(x.kept for x in self.report.listings.values())
        out.append(f"{loaded} tickets loaded ({self.new_tickets} new, {loaded - self.new_tickets} updated or re-read), "
                   f"{self.rejected} rejected, {self.tickets_after} in total, in {self.seconds:.1f} s")
        if self.report.repeated:
            out.append(f"{self.report.repeated} ticket(s) changed status while paging and were read twice; the newest version was kept")
        if self.rejected:
            out.append(f"rejected tickets are kept with their raw JSON and reason in {DATASET_NAME}.{settings.REJECTS_TABLE}")
        out.append(f"data: {self.location}" + (f"; parquet: {self.parquet_dir}" if self.parquet_dir else ""))
        return out


def run_pipeline(
    directory: Path,
    *,
    destination: str = "duckdb",
    statuses: Optional[Sequence[str]] = None,
    full_refresh: bool = False,
    source_overrides: Optional[dict] = None,
) -> RunSummary:
    """Extracts and loads every listed status; `source_overrides` passes explicit source arguments (tests)."""
    started = time.perf_counter()
    pipeline = make_pipeline(directory, destination)
    report = RunReport()
    kwargs = dict(source_overrides or {})
    if statuses:
        kwargs["statuses"] = list(statuses)
    try:
        source = usercom(full_refresh=full_refresh, report=report, **kwargs)
    except ConfigFieldMissingException as error:
        raise UsercomConfigError(
            f"Missing configuration {', '.join(error.fields)} for sources.usercom: set SOURCES__USERCOM__API_KEY and "
            "SOURCES__USERCOM__SUBDOMAIN (or api_key in .dlt/secrets.toml and subdomain in .dlt/config.toml)."
        ) from None
    before = count_tickets(pipeline)
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    summary = RunSummary(
        report=report, seconds=0.0, tickets_before=before, tickets_after=count_tickets(pipeline),
        location=_location(pipeline, directory, destination), load_ids=list(info.loads_ids),
    )
    if destination == "parquet":
        summary.parquet_dir = publish_parquet(directory / DUCKDB_FILE, directory / "parquet" / DATASET_NAME, DATASET_NAME)
    summary.seconds = time.perf_counter() - started
    return summary


def count_tickets(pipeline: dlt.Pipeline) -> int:
    """Rows of `tickets` in the destination; 0 before the first load."""
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(settings.TICKETS_TABLE)}")
            return int(rows[0][0])
    except Exception:  # the dataset or table does not exist yet
        return 0


def _location(pipeline: dlt.Pipeline, directory: Path, destination: str) -> str:
    if destination in LOCAL_DESTINATIONS:
        return f"{directory / DUCKDB_FILE} (schema {DATASET_NAME})"
    return f"{destination} dataset {pipeline.dataset_name}"
