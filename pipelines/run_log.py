"""The run log: every run, ok, failed or interrupted, leaves one row in table `runs` (runs_table.py) of the dataset
the tickets load into, for a dashboard to watch the nightly job.

The figures are what the run counted anyway: its report (pages, tickets received, kept and rejected per listing,
throttled answers), its listings' retry counters and the summary. A failed run has read some pages and loaded
nothing: its row says what it had received and why it failed, loaded 0. The row is written after the failure was
handled (the safety copy put back, the packages aborted), so it never lands in a database about to be restored.
Writing it never fails a run: a failure is logged as a warning, and the run goes on (or fails with its own error).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dlt
from dlt.common.destination import TDestinationReferenceArg

from pipelines.error_text import explain, interruption, one_line, signal_of, translated
from pipelines.runs_table import RUNS_TABLE, append_run_row
from pipelines.usercom.run.report import RunReport

if TYPE_CHECKING:
    from pipelines.job.summary import RunSummary

log = logging.getLogger("usercom.load")


class RunLog:
    """One run's row: started with the run, `succeeded(summary)` or `failed(error)` writes it, once."""

    def __init__(self, target: TDestinationReferenceArg, destination: str, dataset_name: str,
                 statuses: Sequence[str], secrets: Sequence[str | None] = ()) -> None:
        """`target` is where the tickets load (a dlt destination or its name), `destination` its name as the run was
        asked for (`parquet` loads a DuckDB file); `secrets` are kept out of the error text (the API key)."""
        self.run_id = str(uuid.uuid4())
        self.report = RunReport()  # the run fills it in; its figures are read from here, finished or not
        self._target = target
        self._dataset_name = dataset_name
        self._started_at = datetime.now(UTC)
        self._started = time.perf_counter()
        self._fixed = {"destination": destination, "statuses": ",".join(statuses)}
        self._secrets = [x for x in secrets if x]

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self._started

    def succeeded(self, summary: RunSummary) -> None:
        """Writes the row of a run that loaded: its summary's figures."""
        listings = summary.report.listings.values()
        self._write("ok", pages=sum(x.pages for x in listings), tickets_received=sum(x.received for x in listings),
                    tickets_loaded=sum(x.kept for x in listings), tickets_rejected=summary.rejected,
                    tickets_deleted=summary.tickets_deleted, deletions_held=summary.deletions_held, error=None)

    def failed(self, error: BaseException) -> None:
        """Writes the row of a run that ended with `error`: what it had received, nothing loaded, and why, one line."""
        so_far = self.report.requests_so_far()
        interrupt = interruption(error)
        why = (f"interrupted ({signal_of(interrupt).name}); nothing of this run was committed" if interrupt is not None
               else explain(translated(error)))
        self._write("interrupted" if interrupt is not None else "failed", pages=so_far.pages,
                    tickets_received=so_far.received, tickets_loaded=0, tickets_rejected=0, tickets_deleted=0,
                    deletions_held=0, error=one_line(why, self._secrets))

    def _write(self, outcome: str, **figures: object) -> None:
        so_far = self.report.requests_so_far()
        row = {"run_id": self.run_id, "started_at": self._started_at, "finished_at": datetime.now(UTC),
               "outcome": outcome, **self._fixed, **figures, "retries": so_far.retries, "throttled": so_far.throttled,
               "seconds": round(self.elapsed(), 3)}
        try:
            append_run_row(self._target, self._dataset_name, row)
        except Exception as error:  # noqa: BLE001 (whatever the destination raises: the run's own outcome stands)
            # its own words, not the chain's: written after a failure, the chain goes on to the run's error
            log.warning("this run's row could not be written to %s.%s (%s); the run itself is not affected",
                        self._dataset_name, RUNS_TABLE, one_line(f"{type(error).__name__}: {error}", self._secrets))


def configured_api_key(source_overrides: dict | None) -> str | None:
    """The API key a run uses (an explicit source argument, else dlt's `sources.usercom.api_key`), to keep it out of
    the run log; None when it cannot be read (the run then fails saying so)."""
    if source_overrides and source_overrides.get("api_key"):
        return str(source_overrides["api_key"])
    try:
        value = dlt.secrets.get("sources.usercom.api_key")
    except Exception:  # noqa: BLE001 (an unreadable secrets file: the run reports it)
        return None
    return str(value) if value else None
