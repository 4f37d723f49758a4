"""`usercom-tickets export`: every mart of the published BI snapshot as Parquet or CSV files in a folder of the
user's choosing, all replaced or none.

The files are written into a temporary folder inside the target folder first; only when every one is complete,
and nothing in the way of any target, are they moved over the old ones one by one (each `rename(2)` atomic).
Should a move still fail, the ones already moved are put back from hard links of the old files, so the folder
holds the whole previous export or the whole new one. (A reader listing the folder during those moves, a few
microseconds, can see both; `data/marts/` switches all files at once.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb

from pipelines.bi_publish import quote_ident, quote_literal
from pipelines.publish_errors import PublishError, attempt

EXPORT_FORMATS = {
    "parquet": "format parquet, compression snappy",  # the codec every Parquet reader supports
    "csv": "format csv, header true, timestampformat '%Y-%m-%dT%H:%M:%S.%fZ'",  # ISO 8601, UTC
}
_KEPT = "the folder keeps its previous files"


def export_marts(snapshot: Path, out_dir: Path, file_format: str) -> list[Path]:
    """Write every table of the snapshot to ``out_dir/<mart>.<format>``, replacing all such files or none;
    return the paths written. Timestamps are UTC.

    Raises :class:`PublishError` naming the file, the cause and the fix when one cannot be written or replaced.
    """
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {file_format!r}: choose from {', '.join(EXPORT_FORMATS)}")
    out_dir = Path(out_dir)
    _step(lambda: out_dir.mkdir(parents=True, exist_ok=True), out_dir, "create the folder")
    staging = Path(_step(lambda: tempfile.mkdtemp(prefix=".export-", dir=out_dir), out_dir, "write into the folder"))
    try:
        with duckdb.connect(str(Path(snapshot).resolve()), read_only=True) as con:  # one build, however long it takes
            con.execute("set TimeZone = 'UTC'")
            marts = [row[0] for row in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() order by table_name"
            ).fetchall()]
            for mart in marts:
                sql = (f"copy (select * from {quote_ident(mart)}) to {quote_literal(staging / f'{mart}.{file_format}')} "
                       f"({EXPORT_FORMATS[file_format]})")
                _step(lambda sql=sql: con.execute(sql), out_dir / f"{mart}.{file_format}", "write")
        targets = [out_dir / f"{mart}.{file_format}" for mart in marts]
        for target in targets:
            if target.is_dir() or (target.exists() and not target.is_file()):
                raise PublishError(f"could not export the marts: {target} is in the way (not a file); {_KEPT}. "
                                   f"Move it away, then run the export again.")
        _move_all(staging, targets)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return targets


def _move_all(staging: Path, targets: list[Path]) -> None:
    """Move ``staging/<name>`` over each target; on a failure put back what was moved and raise."""
    backups = staging / ".previous"
    backups.mkdir()
    for target in targets:
        if target.exists():
            _step(lambda t=target: os.link(t, backups / t.name), target, "keep a link to the previous")
    moved: list[Path] = []
    try:
        for target in targets:
            _step(lambda t=target: os.replace(staging / t.name, t), target, "replace")
            moved.append(target)
    except BaseException:
        for target in moved:
            old = backups / target.name
            if old.exists():
                os.replace(old, target)
            else:
                target.unlink(missing_ok=True)
        raise


def _step(action, path: Path, what: str):
    return attempt(action, path, what, failed="could not export the marts", again="then run the export again", kept=_KEPT)
