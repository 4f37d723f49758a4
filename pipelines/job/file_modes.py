"""A run's files for their owner only: the DuckDB file, its log and dlt's state folder; a warning for a secrets
file others can read."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from pipelines.job.pipeline import DUCKDB_FILE

log = logging.getLogger("usercom.load")


def restrict(directory: Path) -> None:
    """The DuckDB file (and its WAL) readable by the owner only, and dlt's state folder private, whatever created them."""
    private = ((directory / DUCKDB_FILE, 0o600), (directory / (DUCKDB_FILE + ".wal"), 0o600), (directory / ".dlt", 0o700))
    for path, mode in private:
        try:
            if path.exists():
                path.chmod(mode)
        except OSError as error:  # not ours to change (or read-only): the next write says so clearly
            log.debug("could not restrict %s: %s", path, error)


def warn_if_readable_by_others(path: Path) -> None:
    """Logs a warning (with the fix) when `path`, a secrets file, can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users (mode %s): run `chmod 600 %s`", path, oct(mode & 0o777), path)
