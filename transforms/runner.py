"""Build schema ``analytics``: policy tables, macros, source views, every model in dependency order,
column comments, then the data tests; publish the marts as Parquet when all tests pass.

The whole build is one transaction: when a model or a data test fails, ``analytics`` keeps what the
last good build left there (and the Parquet files are not touched).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from transforms.datatests import DataTestFailed, load_data_tests, run_data_tests
from transforms.docs import UndocumentedColumns, comment_mart, load_mart_docs
from transforms.models import ROOT, SCHEMA, Model, build_order, list_model_files, load_models, references
from transforms.policy import POLICY_TABLES, install_policy, load_policy
from transforms.publish import publish_parquet
from transforms.sources import RawDataMissing, install_sources, source_view_names

__all__ = ["BuildResult", "DataTestFailed", "ModelFailed", "RawDataMissing", "build", "plan"]

MACROS_FILE = ROOT / "macros.sql"


class ModelFailed(RuntimeError):
    """DuckDB rejected a model's SQL; the message names the model file."""


@dataclass(frozen=True)
class BuildResult:
    """What a build did: models in build order, data tests passed, the as_of used, wall time."""

    models: list[str]
    tests_passed: int
    as_of: datetime
    seconds: float
    published: list[Path]


def plan() -> list[Model]:
    """Every model, in the order the build applies them (derived from their references)."""
    provided = set(POLICY_TABLES) | set(source_view_names().values()) | references(MACROS_FILE.read_text(encoding="utf-8"))
    return build_order(load_models(list_model_files()), provided)


def build(
    database: Path,
    *,
    as_of: datetime | None = None,
    policy_path: Path | None = None,
    marts_dir: Path | None = None,
) -> BuildResult:
    """Build every model into ``database`` (schema ``analytics``), run the data tests, publish the marts.

    ``as_of`` overrides the policy file's; ``policy_path`` defaults to the packaged
    ``sla_policy.toml``; Parquet goes to ``marts_dir`` (default ``<database folder>/marts``).
    Raises :class:`DataTestFailed` (nothing committed, nothing published) when a data test fails,
    :class:`ModelFailed` when a model's SQL fails, ``RawDataMissing`` before the first pipeline run.
    """
    started = time.perf_counter()
    database = Path(database)
    policy = load_policy(policy_path, as_of)
    models = plan()
    marts = [m.name for m in models if m.layer == "marts"]
    docs = load_mart_docs()
    if sorted(docs) != sorted(marts):
        raise UndocumentedColumns(f"marts/schema.toml documents {sorted(docs)}, the marts are {sorted(marts)}")
    tests = load_data_tests(docs)
    if not database.exists():
        raise RawDataMissing(f"{database} does not exist: run the pipeline first")

    con = duckdb.connect(str(database))
    try:
        con.execute("set TimeZone = 'UTC'")  # days and weeks are UTC whatever the machine's zone
        con.execute("set enable_progress_bar = false")
        con.execute("begin transaction")
        try:
            con.execute(f"drop schema if exists {SCHEMA} cascade")
            con.execute(f"create schema {SCHEMA}")
            install_policy(con, policy, SCHEMA)
            con.execute(MACROS_FILE.read_text(encoding="utf-8"))
            install_sources(con, SCHEMA)
            for model in models:
                _apply(con, model)
                if model.name in docs:
                    _narrow_hugeints(con, model.name)
                    comment_mart(con, model.name, docs[model.name])
            failures = run_data_tests(con, tests)
            if failures:
                raise DataTestFailed(failures)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        published = publish_parquet(con, marts, Path(marts_dir) if marts_dir else database.parent / "marts")
    finally:
        con.close()

    return BuildResult(
        models=[m.name for m in models],
        tests_passed=len(tests),
        as_of=policy.as_of,
        seconds=round(time.perf_counter() - started, 3),
        published=published,
    )


def _narrow_hugeints(con: duckdb.DuckDBPyConnection, mart: str) -> None:
    """DuckDB 2 counts in HUGEINT, which Parquet stores as double and BI drivers misread: marts hold BIGINT."""
    columns = con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? and data_type = 'HUGEINT'",
        [SCHEMA, mart],
    ).fetchall()
    for (column,) in columns:
        con.execute(f'alter table {SCHEMA}.{mart} alter column "{column}" type bigint')


def _apply(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    try:
        con.execute(model.create_statement())
    except duckdb.Error as err:
        raise ModelFailed(f"model {model.name} ({model.path.relative_to(ROOT)}) failed: {err}") from err
