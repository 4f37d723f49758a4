"""Publishes the merged DuckDB tables as Parquet snapshots that always hold exactly the current state.

dlt's filesystem destination cannot merge plain Parquet (merge falls back to append), so the merge
happens in DuckDB and each table is then copied out whole: written to a temporary file in the same
folder and renamed over the old one, so a reader sees either the old snapshot or the new, never half.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def publish_parquet(database: Path, out_dir: Path, schema: str) -> Path:
    """Writes `<out_dir>/<table>.parquet` for every table of `schema` (dlt's own `_dlt_*` tables excluded)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' ORDER BY 1",
            [schema],
        ).fetchall()]
        for table in tables:
            target = out_dir / f"{table}.parquet"
            temporary = out_dir / f".{table}.parquet.tmp"
            con.execute(f'COPY (SELECT * FROM "{schema}"."{table}") TO \'{temporary}\' (FORMAT parquet, COMPRESSION zstd)')
            os.replace(temporary, target)
    stale = {p for p in out_dir.glob("*.parquet")} - {out_dir / f"{t}.parquet" for t in tables}
    for path in stale:
        path.unlink()
    return out_dir
