"""The dlt pipeline `usercom` of a data directory: its name, dataset, DuckDB file and load settings."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.common.destination.configuration import ParquetFormatConfiguration

PIPELINE_NAME = "usercom"
DATASET_NAME = "usercom"
DUCKDB_FILE = "tickets.duckdb"
LOCAL_DESTINATIONS = ("duckdb", "parquet")

# dlt's load settings this pipeline wants unless the user's [load] config says otherwise: the staging copy of each
# load is emptied after the merge (it doubled the DuckDB file, and the final checkpoint wrote it: 0.66 -> 0.37 s
# at 100,000 tickets), and loaded packages keep no copy of their files (a nightly run would add one each night)
LOAD_DEFAULTS = {"load.truncate_staging_dataset": True, "load.delete_completed_jobs": True}


def data_dir() -> Path:
    """The folder of every output: USERCOM_DATA_DIR (env or dlt config `usercom_data_dir`), default ./data."""
    configured = dlt.config.get("usercom_data_dir", str)
    return Path(configured or "data").resolve()


def local_destination(directory: Path, name: str = "duckdb") -> dlt.destinations.duckdb:
    """The DuckDB destination of `directory`'s `tickets.duckdb` (what `duckdb` and `parquet` load into), named `name`:
    the pipeline's state keeps the name, so a directory loaded as `parquet` is remembered as such (stored_settings)."""
    # tables load side by side (1.53 -> 1.15 s at 100,000 tickets); a load that fails half-way, a full disk
    # included, is undone by the run's safety copy of the database (safety_copy.py). The load files live
    # minutes on the local disk: uncompressed, DuckDB reads them faster (load 1.47 -> 1.31 s at 100,000 tickets);
    # a [data_writer] compression setting still wins.
    local_files = ParquetFormatConfiguration()
    local_files.compression = "none"
    return dlt.destinations.duckdb(str(directory / DUCKDB_FILE), destination_name=name,
                                   loader_parallelism_strategy="table-sequential", parquet_format=local_files)


def make_pipeline(directory: Path, destination: str = "duckdb") -> dlt.Pipeline:
    """The `usercom` pipeline; its state lives under `directory` so each data directory stands alone.

    `duckdb` and `parquet` load into `<directory>/tickets.duckdb` (parquet then publishes snapshots);
    any other name is a dlt destination configured through dlt's own config.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in LOAD_DEFAULTS.items():
        if dlt.config.get(key) is None:
            dlt.config[key] = value
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(directory / ".dlt"),
        destination=local_destination(directory, destination) if destination in LOCAL_DESTINATIONS else destination,
        dataset_name=DATASET_NAME,
    )


def location(directory: Path, destination: str) -> str:
    """Where a run's tickets are, in words: the DuckDB file and schema, or the destination's dataset."""
    if destination in LOCAL_DESTINATIONS:
        return f"{directory / DUCKDB_FILE} (schema {DATASET_NAME})"
    return f"{destination} dataset {DATASET_NAME}"
