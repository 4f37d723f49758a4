"""A local Apache Spark session for the marts (``transform --engine spark``), the raw tables registered in it.

dbt-spark's ``session`` connection runs every statement on the active SparkSession of this process, so the
session is started here first: Spark in local mode from the ``pyspark`` wheel (its bundled jars, Java 17), an
in-memory catalog (no Hive metastore folder), a warehouse folder of its own under the data directory, UTC as
the session's time zone (the marts' days and weeks are UTC), two shuffle partitions (the default 200 cost
seconds of task start-up per model at 100,000 tickets) and no web UI. The raw tables are the Parquet files a
``--destination parquet`` run publishes (``<data dir>/parquet/usercom/<table>.parquet``: exactly the current
state of each table), registered as external tables of database ``usercom``; on a cluster the same statement
points at ``s3://``, ``abfss://`` or ``gs://`` (docs/spark.md).
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_DIR = "spark"  # under the data directory: the session's warehouse (the built tables) and its scratch space
RAW_PARQUET = Path("parquet")
LOG_SETTINGS = "log4j2.properties"
# Spark logs to stderr at WARN from the start, before a level can be set: errors reach dbt as exceptions
_QUIET_LOG = "rootLogger.level = off\nrootLogger.appenderRef.stdout.ref = console\nappender.console.type = Console\n" \
             "appender.console.name = console\nappender.console.layout.type = PatternLayout\n"


def start_session(directory: Path) -> SparkSession:
    """A local SparkSession for ``directory``'s marts, its warehouse emptied first (a build writes it anew;
    readers read the published Parquet marts, never this folder). Stop it with :func:`stop_session`."""
    # pyspark warns at its import of a pandas it does not know yet (3.x); the marts pass no frame through pandas
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    home = Path(directory) / SPARK_DIR
    shutil.rmtree(home, ignore_errors=True)
    (home / "tmp").mkdir(parents=True)
    (home / LOG_SETTINGS).write_text(_QUIET_LOG, encoding="utf-8")
    # derby.system.home: a Hive-enabled session (dbt-spark's cursor asks for one should this session be gone, e.g.
    # a build interrupted mid-query) keeps its metastore_db there, not in the current directory
    java_options = (f"-Dlog4j2.configurationFile=file:{home / LOG_SETTINGS} -Djava.io.tmpdir={home / 'tmp'} "
                    f"-Dderby.system.home={home}")
    settings = {
        "spark.master": os.environ.get("USERCOM_SPARK_MASTER", "local[*]"),
        "spark.app.name": "usercom-tickets marts",
        "spark.driver.memory": os.environ.get("USERCOM_SPARK_DRIVER_MEMORY", "2g"),
        "spark.driver.extraJavaOptions": java_options,
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.local.dir": str(home / "tmp"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("USERCOM_SPARK_SHUFFLE_PARTITIONS", "2"),
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # not INT96: DuckDB reads them as instants
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def register_raw_tables(session: SparkSession, directory: Path, dataset: str) -> list[str]:
    """Every ``<directory>/parquet/<dataset>/<table>.parquet`` as the external table ``<dataset>.<table>``;
    the tables registered, by name."""
    folder = Path(directory) / RAW_PARQUET / dataset
    tables = sorted(path.stem for path in folder.glob("*.parquet"))
    session.sql(f"create database if not exists {dataset}")
    for table in tables:
        location = str(folder / f"{table}.parquet").replace("'", "\\'")
        session.sql(f"create table {dataset}.{table} using parquet location '{location}'")
    return tables


def stop_session(session: SparkSession) -> None:
    """Stop the session and its JVM's work (the JVM itself stays up for the next session of this process)."""
    session.stop()
