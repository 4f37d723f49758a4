"""Build the SLA marts on Apache Spark (``transform --engine spark``): a local SparkSession reads the raw
Parquet tables of a ``--destination parquet`` run, dbt-spark runs the same dbt project in it with every data
test, and the built marts are handed over as one DuckDB file for the all-or-nothing publisher
(pipelines/marts_publish.py), which readers see only when every test passed."""

from __future__ import annotations

import time
from pathlib import Path

import dlt
import duckdb

from transforms.build import BuildResult, build_result, explain_failure
from transforms.catalog import load_mart_docs
from transforms.dbt_runner import DBTProcessingError, DbtRun, node_name
from transforms.errors import RawDataMissing
from transforms.policy import dbt_env, dbt_vars, load_policy, needs_first_year, with_holiday_years
from transforms.spark_session import RAW_PARQUET, SPARK_DIR, register_raw_tables, start_session, stop_session
from transforms.warehouse import MARTS_SCHEMA

SPARK_PROFILE = "spark"
MARTS_FILE = "marts.duckdb"  # the built marts, for the publisher: <data dir>/spark/marts.duckdb


def build_marts_on_spark(pipeline: dlt.Pipeline, directory: Path, *, as_of=None, policy_path: Path | None = None,
                         timings: dict[str, float] | None = None) -> tuple[BuildResult, Path]:
    """Build and test every model on a local Spark session from ``directory``'s raw Parquet tables; return what
    was built and the DuckDB file holding the marts (schema ``analytics``, with the docs as comments).

    ``timings``, when given, receives the seconds of ``session_start``, ``dbt_build``, ``marts_copy``, each model
    (``per_model``: {name: seconds}) and all data tests together (``tests``).
    Raises :class:`DataTestFailed`, :class:`ModelFailed` or :class:`RawDataMissing` as ``build_marts`` does;
    then nothing is handed over and readers keep the last good build.
    """
    started = time.perf_counter()
    timings = {} if timings is None else timings
    raw = Path(directory) / RAW_PARQUET / pipeline.dataset_name
    if not (raw / "tickets.parquet").exists():
        raise RawDataMissing(f"{raw / 'tickets.parquet'} does not exist: the Spark marts read the raw Parquet tables "
                             "of a parquet run; run `usercom-tickets run --destination parquet` first")
    policy = load_policy(policy_path, as_of)
    if needs_first_year(policy):
        policy = with_holiday_years(policy, _first_ticket_year(raw / "tickets.parquet"))
    session = start_session(directory)
    try:
        register_raw_tables(session, directory, pipeline.dataset_name)
        timings["session_start"] = time.perf_counter() - started
        run = DbtRun(pipeline)
        try:
            run.build(MARTS_SCHEMA, {"usercom_schema": pipeline.dataset_name, **dbt_vars(policy)}, dbt_env(policy),
                      profile=SPARK_PROFILE)
        except DBTProcessingError as error:
            raise explain_failure(pipeline, run, error, query=lambda sql: _query(session, sql)) from None
        finally:
            timings["dbt_build"] = time.perf_counter() - started - timings["session_start"]
    finally:
        stop_session(session)
    copied = time.perf_counter()
    marts = copy_marts(Path(directory) / SPARK_DIR / "warehouse", Path(directory) / SPARK_DIR / MARTS_FILE)
    timings["marts_copy"] = time.perf_counter() - copied
    results = run.results()
    timings["per_model"] = {node_name(r): r["seconds"] for r in results if r["unique_id"].startswith("model.")}
    timings["tests"] = sum(r["seconds"] for r in results if r["unique_id"].startswith("test."))
    return build_result(results, policy.as_of, started), marts


def copy_marts(warehouse: Path, target: Path) -> Path:
    """Every mart Spark built (its Parquet files under ``warehouse``) as a table of schema ``analytics`` in the
    new DuckDB file ``target``, with the marts' yml docs as table and column comments; ``target``."""
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create schema {MARTS_SCHEMA}")
        for mart, doc in load_mart_docs().items():
            files = _literal(warehouse / f"{MARTS_SCHEMA}.db" / mart / "*.parquet")
            con.execute(f'create table {MARTS_SCHEMA}."{mart}" as select * from read_parquet({files})')
            con.execute(f'comment on table {MARTS_SCHEMA}."{mart}" is {_literal(doc.grain)}')
            for column, description in doc.columns.items():
                con.execute(f'comment on column {MARTS_SCHEMA}."{mart}"."{column}" is {_literal(description)}')
    return target


def _literal(value: object) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _query(session, sql: str) -> tuple[list[str], list[tuple]]:
    frame = session.sql(sql)
    return frame.columns, [tuple(row) for row in frame.collect()]


def _first_ticket_year(tickets: Path) -> int | None:
    """The UTC year of the earliest ticket's creation in the raw Parquet tickets (None without tickets)."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        (first,) = con.execute(f"select min(created_at) from read_parquet({_literal(tickets)})").fetchone()
    return first.year if first is not None else None
