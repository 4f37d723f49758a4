"""Where the marts live on each destination, and SQL on it: the destinations the dbt project serves,
how a build is put in front of readers, and read-only queries for reports and data-test samples.

DuckDB (the default): dbt builds schema ``analytics`` of the pipeline's file in place; readers keep
the last good build through the BI snapshot and Parquet files, published only after every test
passed. PostgreSQL, Redshift and Snowflake: dbt builds into ``analytics_build``, and only when every
test passed one transaction swaps it in as ``analytics``. BigQuery, Databricks and MotherDuck: dbt
builds ``analytics`` in place (they cannot rename a schema in a transaction): a failed test fails the
command, but readers of ``analytics`` may see the failed build.

Only the documented marts are in ``analytics``: the staging and intermediate models go to
``analytics_internal`` beside it (built as ``analytics_build_internal`` and swapped in with it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dlt
import duckdb

from transforms.errors import MartsUnsupported

MARTS_SCHEMA = "analytics"
BUILD_SCHEMA = "analytics_build"
INTERNAL_SUFFIX = "_internal"  # dbt's schema for staging and intermediate models: `<target schema>_internal`
INTERNAL_SCHEMA = MARTS_SCHEMA + INTERNAL_SUFFIX
SWAPPED = ("postgres", "redshift", "snowflake")  # built aside, swapped in by one transaction
IN_PLACE = ("duckdb", "motherduck", "bigquery", "databricks")
SUPPORTED = ("duckdb", "postgres", "redshift", "snowflake", "bigquery", "databricks", "motherduck")
TESTED = ("duckdb", "postgres")


def destination_type(pipeline: dlt.Pipeline) -> str:
    """The pipeline's destination type, e.g. ``duckdb`` or ``postgres`` (whatever the destination is named)."""
    return pipeline.destination.destination_type.rsplit(".", 1)[-1]


def check_supported(destination: str) -> None:
    """Raise :class:`MartsUnsupported` naming the destinations the marts build on, unless ``destination`` is one."""
    if destination not in SUPPORTED:
        raise MartsUnsupported(
            f"the SLA marts build on {', '.join(SUPPORTED)} (tested: {', '.join(TESTED)}); not on {destination}. "
            "Load into one of those, or pass --no-transform to load only."
        )


def build_schema(destination: str) -> str:
    """The schema dbt builds into on ``destination``: aside when it can be swapped in, else the marts' own."""
    return BUILD_SCHEMA if destination in SWAPPED else MARTS_SCHEMA


def duckdb_path(pipeline: dlt.Pipeline) -> Path | None:
    """The DuckDB file of a pipeline loading into a local DuckDB, else None."""
    if destination_type(pipeline) != "duckdb":
        return None
    return Path(pipeline.destination_client().config.credentials.database)


@contextmanager
def read_only_cursor(pipeline: dlt.Pipeline) -> Iterator:
    """A function ``query(sql) -> (column names, rows)`` on the pipeline's destination.

    A local DuckDB file is opened read-only and closed again, so it never holds the file's write lock.
    """
    path = duckdb_path(pipeline)
    if path is not None:
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")

            def query(sql: str) -> tuple[list[str], list[tuple]]:
                cursor = con.execute(sql)
                return [d[0] for d in cursor.description], cursor.fetchall()

            yield query
        return
    with pipeline.sql_client() as client:

        def query(sql: str) -> tuple[list[str], list[tuple]]:
            with client.execute_query(sql) as cursor:
                return [d[0] for d in cursor.description], list(cursor.fetchall())

        yield query


def swap_in(pipeline: dlt.Pipeline, destination: str) -> None:
    """Replace ``analytics`` and ``analytics_internal`` with the tested ``analytics_build`` and
    ``analytics_build_internal`` in one transaction."""
    statements = []
    for built, published in ((BUILD_SCHEMA, MARTS_SCHEMA), (BUILD_SCHEMA + INTERNAL_SUFFIX, INTERNAL_SCHEMA)):
        statements += {
            "snowflake": [f"alter schema if exists {published} rename to {published}__previous",
                          f"alter schema {built} rename to {published}",
                          f"drop schema if exists {published}__previous cascade"],
        }.get(destination, [f"drop schema if exists {published} cascade", f"alter schema {built} rename to {published}"])
    _execute(pipeline, statements, transaction=True)


def drop_build_schema(pipeline: dlt.Pipeline) -> None:
    """Drop what an earlier, failed build left in ``analytics_build`` and ``analytics_build_internal``."""
    _execute(pipeline, [f"drop schema if exists {BUILD_SCHEMA} cascade",
                        f"drop schema if exists {BUILD_SCHEMA}{INTERNAL_SUFFIX} cascade"], transaction=False)


def _execute(pipeline: dlt.Pipeline, statements: Sequence[str], *, transaction: bool) -> None:
    with pipeline.sql_client() as client:
        if not transaction:
            for statement in statements:
                client.execute_sql(statement)
            return
        with client.begin_transaction():
            for statement in statements:
                client.execute_sql(statement)
