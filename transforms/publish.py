"""Publish marts as Parquet files for BI tools: ``<marts_dir>/<mart>.parquet``.

Each file is written under a temporary name in the same folder and then moved into place with
``os.replace``, so a reader sees either the previous file or the new one, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from transforms.warehouse import MARTS_SCHEMA


def publish_parquet(con: duckdb.DuckDBPyConnection, marts: list[str], marts_dir: Path, schema: str = MARTS_SCHEMA) -> list[Path]:
    """Write each ``<schema>.<mart>`` (default ``analytics``) to ``marts_dir/<mart>.parquet``; return the paths written."""
    marts_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for mart in marts:
        target = marts_dir / f"{mart}.parquet"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{mart}.", suffix=".parquet.tmp", dir=marts_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            con.execute(
                f'copy (select * from "{schema}"."{mart}") to \'{_quoted(tmp)}\' (format parquet, compression zstd)'
            )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
