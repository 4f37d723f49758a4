"""The one way this project writes Parquet files for readers: each table of a DuckDB schema copied out whole,
written under a temporary name in the same folder and moved into place with `os.replace`, so a reader sees
either the previous file or the new one, never half a file.

Two callers: the raw tables after a `--destination parquet` run (job/raw_parquet.py: dlt's filesystem destination cannot
merge plain Parquet, so the merge happens in DuckDB and the current state is published), and the marts after
a tested build (bi_publish.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb


def publish_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], out_dir: Path, schema: str, *,
                    remove_others: bool = False) -> list[Path]:
    """Writes each `<schema>.<table>` to `out_dir/<table>.parquet` (zstd) and returns the paths written;
    `remove_others` deletes the other `.parquet` files of `out_dir` (tables that no longer exist)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        target = out_dir / f"{table}.parquet"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=out_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            con.execute(
                f'copy (select * from "{schema}"."{table}") to \'{_quoted(tmp)}\' (format parquet, compression zstd)'
            )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    if remove_others:
        for stale in set(out_dir.glob("*.parquet")) - set(written):
            stale.unlink()
    return written


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables of `schema`, dlt's own `_dlt_*` tables excluded, by name."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' ORDER BY 1",
        [schema],
    ).fetchall()]


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
