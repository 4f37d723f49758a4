"""Crash resume: the load packages a killed or failed run left are loaded before a new extract."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import dlt

log = logging.getLogger("usercom.load")


def finish_interrupted_run(pipeline: dlt.Pipeline) -> list[str]:
    """Loads the packages a killed or failed run left behind, and returns their load ids.

    Left alone, dlt's `run` would load them and return without extracting, so the night after a crash
    would skip the API. Each package holds a complete extract and the cursor state of its run; loading it
    first and then extracting anew ends with exactly the data of an uninterrupted run.
    """
    remove_orphaned_extracts(pipeline, left_by_this_run=False)
    if not pipeline.has_pending_data:
        return []
    log.warning("an earlier run was interrupted after extracting: loading the packages it left before extracting anew")
    info = pipeline.run()
    if info is None:
        return []
    info.raise_on_failed_jobs()
    return list(info.loads_ids)


def remove_orphaned_extracts(pipeline: dlt.Pipeline, *, left_by_this_run: bool) -> None:
    """Deletes the half-written extract folders of killed or failed runs (dlt names each `<16 hex>` under
    normalize/ and never reads it again); safe under the run lock, when no other extract can be writing.
    `left_by_this_run`: a run whose extract failed (a 401, a 404) clears its own, said only at debug level;
    one found at the start was left by an earlier run that was killed before it could."""
    folder = Path(pipeline.working_dir) / "normalize"
    for path in folder.glob("*") if folder.is_dir() else []:
        if path.is_dir() and re.fullmatch(r"[0-9a-f]{16}", path.name):
            if left_by_this_run:
                log.debug("removing %s, this run's unfinished extract", path)
            else:
                log.info("removing %s, the unfinished extract of an earlier run killed mid-extract", path)
            shutil.rmtree(path, ignore_errors=True)
