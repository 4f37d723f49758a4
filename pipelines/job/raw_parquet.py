"""The `parquet` destination's snapshot: every raw table as `<data dir>/parquet/usercom/<table>.parquet`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.job.pipeline import DATASET_NAME, DUCKDB_FILE
from pipelines.parquet_publish import publish_parquet, schema_tables


def publish_raw_parquet(directory: Path) -> Path:
    """`<directory>/parquet/usercom/<table>.parquet` for every raw table, exactly the current state; the folder."""
    out_dir = directory / "parquet" / DATASET_NAME
    with duckdb.connect(str(directory / DUCKDB_FILE), read_only=True) as con:
        publish_parquet(con, schema_tables(con, DATASET_NAME), out_dir, DATASET_NAME, remove_others=True)
    return out_dir
