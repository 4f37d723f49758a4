"""A copy of the DuckDB file taken before a run loads, put back when the load fails.

dlt loads a package as many jobs, each its own transaction, so a load that fails half-way (a full
disk, a read-only file) can leave some tables merged and others not. Worse, DuckDB 2.0 was seen to
lose rows committed by earlier runs when a commit's write to its log fails (tests/test_faults_process.py).
So before loading, the run checkpoints the database and copies it next to itself; when the load step
fails the copy replaces the file and the run's packages are aborted (dlt puts back the cursor state),
and the next run reads again what this one missed. A process killed outright (SIGKILL) leaves its copy
behind: dlt resumes such a run's package, which is safe, so a stale copy is only deleted.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import dlt
import duckdb
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.run_errors import DestinationFailed

log = logging.getLogger("usercom.load")


class SafetyCopy:
    """`take()` before loading, `restore(pipeline)` when the load failed, `discard()` when it worked."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.copy = database.with_name(f".{database.name}.before-run")
        self.wal = database.with_name(database.name + ".wal")
        self._existed = False

    def take(self) -> None:
        """Checkpoints the database (no log left beside it) and copies it; fails clearly when there is no room."""
        self.copy.unlink(missing_ok=True)  # left by a killed run: its package is resumed, not rolled back
        self._existed = self.database.exists()
        if not self._existed:
            return
        try:
            with duckdb.connect(str(self.database)) as con:
                con.execute("CHECKPOINT")
            shutil.copyfile(self.database, self.copy)
        except (OSError, duckdb.Error) as error:
            self.copy.unlink(missing_ok=True)
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error).splitlines()[0]
            raise DestinationFailed(
                f"could not checkpoint and copy {self.database} before loading ({reason}); nothing was loaded and the "
                "data is as the last run left it. Check that the file is writable and that there is room for a copy "
                "of it, then re-run."
            ) from None

    def restore(self, pipeline: dlt.Pipeline) -> None:
        """Puts the database back as it was before the run and aborts the run's packages (dlt restores the cursor state)."""
        if self._existed:
            os.replace(self.copy, self.database)
        else:
            self.database.unlink(missing_ok=True)
        self.wal.unlink(missing_ok=True)
        log.warning("the load failed: %s is back as it was before this run; its packages are aborted", self.database)
        try:
            pipeline.abort_packages()
        except Exception as error:  # noqa: BLE001 (e.g. still no room to record the abort: the next run finishes it)
            log.warning("aborting the failed packages did not finish (%s); the next run finishes it", str(error)[:200])

    def discard(self) -> None:
        """The load worked: the copy is not needed."""
        self.copy.unlink(missing_ok=True)


def failed_while_loading(error: BaseException) -> bool:
    """Whether `error` came from dlt's load step (the only step that writes to the destination)."""
    return failed_in_step(error, "load")


def failed_in_step(error: BaseException, step: str) -> bool:
    """Whether `error` came from dlt's step `step` (extract, normalize, load)."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, PipelineStepFailed) and current.step == step:
            return True
        current = current.__cause__ or current.__context__
    return False
