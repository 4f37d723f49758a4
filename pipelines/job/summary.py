"""What a run ends with, as figures: the load's `RunSummary` and the whole job's `JobResult`. How they read in a
terminal is the printing side's (pipelines/summary_text.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.usercom.run.report import RunReport

if TYPE_CHECKING:
    from transforms.build import BuildResult


@dataclass
class RunSummary:
    """The figures a run's extract and load end with."""

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
    deletions_held: int = 0  # live tickets this complete run did not list, too many to believe: nothing marked
    stopped_by: int | None = None  # SIGINT/SIGTERM that came while dlt normalized or loaded: the job ends after the load
    live_tickets: int = 0  # live tickets before the deletion check of a complete run
    max_unlisted_share: float = 0.0  # the guard's share this run was held to
    run_id: str = ""  # the run's row in the run log (`usercom.runs`)

    @property
    def new_tickets(self) -> int:
        """Tickets that were not in the destination before this run."""
        return self.tickets_after - self.tickets_before

    @property
    def rejected(self) -> int:
        """Tickets of this run that went to `tickets_rejected`."""
        return sum(x.rejected for x in self.report.listings.values())


@dataclass(frozen=True)
class PublishedMarts:
    """A tested build of the SLA marts and where readers find it (the local files; None on a warehouse)."""

    build: BuildResult
    destination: str = "duckdb"  # as the run was asked for
    marts_dir: Path | None = None  # the Parquet marts
    snapshot: Path | None = None  # the BI snapshot (analytics.duckdb)
    build_id: str | None = None  # the published build's folder under data/.published/


@dataclass(frozen=True)
class JobResult:
    """A night's job: the load's figures, and the marts it built and published (None with `transform=False`)."""

    summary: RunSummary
    marts: PublishedMarts | None = None
