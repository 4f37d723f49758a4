"""Publishes the merged DuckDB tables as Parquet snapshots that always hold exactly the current state.

dlt's filesystem destination cannot merge plain Parquet (merge falls back to append), so the merge
happens in DuckDB and each table is then copied out whole by the same atomic writer the marts use:
a reader sees either the old snapshot or the new one, never half a file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from transforms.publish import publish_parquet as write_parquet_files


def publish_parquet(database: Path, out_dir: Path, schema: str) -> Path:
    """Writes `<out_dir>/<table>.parquet` for every table of `schema` (dlt's own `_dlt_*` tables excluded)."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' ORDER BY 1",
            [schema],
        ).fetchall()]
        written = write_parquet_files(con, tables, out_dir, schema=schema)
    for stale in set(out_dir.glob("*.parquet")) - set(written):
        stale.unlink()
    return out_dir
