"""Hands the SLA marts to BI tools and notebooks without ever blocking the nightly job.

DuckDB lets one process write a database file, and any other process holding it open (a BI tool's
connection pool, say) makes the writer fail on the file lock. So readers never need
``tickets.duckdb``: after every build the marts are copied into an ``analytics.duckdb`` of the build's own
folder, which ``marts_publish`` then switches ``data/analytics.duckdb`` to, together with the Parquet marts. A
reader that has the old file open keeps reading the old snapshot (the file lives on until it is closed) and
the next connection opens the new one; nothing ever sees half a file. (POSIX semantics: links and renames.)

The snapshot holds the marts only, as plain tables (schema ``main``: ``select * from fct_tickets``),
with the build's table and column comments, so BI tools show each mart's grain and each column's
meaning. It is written in DuckDB's v1.0 storage format, which DuckDB 1.0 and newer can open: BI
drivers often bundle an older DuckDB than the one writing. Counts come out as BIGINT (DuckDB sums and
count_if give HUGEINT, which Parquet and several BI drivers have no type for).

:func:`pipelines.marts_export.export_marts` writes the same marts as Parquet or CSV files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

BI_FILE = "analytics.duckdb"
MARTS_SCHEMA = "analytics"  # where the build leaves the marts in tickets.duckdb
STORAGE_VERSION = "v1.0.0"  # the oldest format that still holds everything the marts need


def publish_bi_database(database: Path, marts: Sequence[str], target: Path | None = None) -> Path:
    """Copy ``analytics.<mart>`` of ``database`` for each of ``marts`` into the read-only snapshot
    ``target`` (default ``<database folder>/analytics.duckdb``), replacing it atomically; return it.

    On any error the previous snapshot is left as it was and no temporary file remains.
    """
    target = Path(target) if target else Path(database).parent / BI_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        fresh = staging / target.name
        con = duckdb.connect()
        try:
            con.execute(f"attach {quote_literal(database)} as source (read_only)")
            con.execute(f"attach {quote_literal(fresh)} as snapshot (storage_version '{STORAGE_VERSION}')")
            for mart in marts:
                _copy_mart(con, mart)
            con.execute("detach snapshot")  # checkpoints: the file is complete before it is moved
        finally:
            con.close()
        os.replace(fresh, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _copy_mart(con: duckdb.DuckDBPyConnection, mart: str) -> None:
    columns = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = 'source' and schema_name = ? and table_name = ? order by column_index",
        [MARTS_SCHEMA, mart],
    ).fetchall()
    if not columns:
        raise LookupError(f"mart {MARTS_SCHEMA}.{mart} is not in the database: build the transforms first")
    select_list = ", ".join(
        f"cast({quote_ident(name)} as bigint) as {quote_ident(name)}" if data_type == "HUGEINT" else quote_ident(name)
        for name, data_type, _ in columns
    )
    table = f"snapshot.main.{quote_ident(mart)}"
    con.execute(f"create table {table} as select {select_list} from source.{MARTS_SCHEMA}.{quote_ident(mart)}")
    [(table_comment,)] = con.execute(
        "select comment from duckdb_tables() where database_name = 'source' and schema_name = ? and table_name = ?",
        [MARTS_SCHEMA, mart],
    ).fetchall()
    if table_comment:
        con.execute(f"comment on table {table} is {quote_literal(table_comment)}")
    for name, _, comment in columns:
        if comment:
            con.execute(f"comment on column {table}.{quote_ident(name)} is {quote_literal(comment)}")


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: object) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
