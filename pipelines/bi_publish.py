"""Hands the SLA marts to BI tools and notebooks without ever blocking the nightly job.

DuckDB lets one process write a database file, and any other process holding it open (a BI tool's
connection pool, say) makes the writer fail on the file lock. So readers never need
``tickets.duckdb``: after every build the marts are copied into ``analytics.duckdb`` next to it,
written under a temporary name in the same folder, then moved into place with ``os.replace``. A
reader that has the old file open keeps reading the old snapshot (the file lives on until it is
closed) and the next connection opens the new one; nothing ever sees half a file. (POSIX rename
semantics: on Windows a replace fails while a reader holds the file, so use the Parquet marts there.)

The snapshot holds the marts only, as plain tables (schema ``main``: ``select * from fct_tickets``),
with the build's table and column comments, so BI tools show each mart's grain and each column's
meaning. It is written in DuckDB's v1.0 storage format, which DuckDB 1.0 and newer can open: BI
drivers often bundle an older DuckDB than the one writing. Counts come out as BIGINT (DuckDB sums and
count_if give HUGEINT, which Parquet and several BI drivers have no type for).

:func:`export_marts` writes the same marts as Parquet or CSV files, each replaced atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

from pipelines.parquet_publish import publish_parquet

BI_FILE = "analytics.duckdb"
MARTS_SCHEMA = "analytics"  # where the build leaves the marts in tickets.duckdb
STORAGE_VERSION = "v1.0.0"  # the oldest format that still holds everything the marts need
EXPORT_FORMATS = {
    "parquet": "format parquet, compression snappy",  # the codec every Parquet reader supports
    "csv": "format csv, header true, timestampformat '%Y-%m-%dT%H:%M:%S.%fZ'",  # ISO 8601, UTC
}


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
            con.execute(f"attach {_literal(database)} as source (read_only)")
            con.execute(f"attach {_literal(fresh)} as snapshot (storage_version '{STORAGE_VERSION}')")
            for mart in marts:
                _copy_mart(con, mart)
            con.execute("detach snapshot")  # checkpoints: the file is complete before it is moved
        finally:
            con.close()
        os.replace(fresh, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def publish_local_marts(database: Path) -> Path:
    """After a tested build: the Parquet marts (``<database folder>/marts``) and the BI snapshot, each
    replaced atomically, so readers keep the last good build until a new one passed its tests."""
    from transforms.catalog import mart_names

    with duckdb.connect(str(database), read_only=True) as con:
        publish_parquet(con, mart_names(), Path(database).parent / "marts", MARTS_SCHEMA)
    return publish_bi_database(database, mart_names())


def export_marts(snapshot: Path, out_dir: Path, file_format: str) -> list[Path]:
    """Write every table of the snapshot to ``out_dir/<mart>.<format>``; return the paths written.

    Each file is written under a temporary name in ``out_dir`` and moved into place, so a reader of
    the previous export never sees half a file. Timestamps are UTC.
    """
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {file_format!r}: choose from {', '.join(EXPORT_FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with duckdb.connect(str(snapshot), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        marts = [row[0] for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() order by table_name"
        ).fetchall()]
        for mart in marts:
            target = out_dir / f"{mart}.{file_format}"
            fd, name = tempfile.mkstemp(prefix=f".{mart}.", suffix=f".{file_format}.tmp", dir=out_dir)
            os.close(fd)
            temporary = Path(name)
            try:
                con.execute(f"copy (select * from {_ident(mart)}) to {_literal(temporary)} ({EXPORT_FORMATS[file_format]})")
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)
            written.append(target)
    return written


def _copy_mart(con: duckdb.DuckDBPyConnection, mart: str) -> None:
    columns = con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = 'source' and schema_name = ? and table_name = ? order by column_index",
        [MARTS_SCHEMA, mart],
    ).fetchall()
    if not columns:
        raise LookupError(f"mart {MARTS_SCHEMA}.{mart} is not in the database: build the transforms first")
    select_list = ", ".join(
        f"cast({_ident(name)} as bigint) as {_ident(name)}" if data_type == "HUGEINT" else _ident(name)
        for name, data_type, _ in columns
    )
    table = f"snapshot.main.{_ident(mart)}"
    con.execute(f"create table {table} as select {select_list} from source.{MARTS_SCHEMA}.{_ident(mart)}")
    [(table_comment,)] = con.execute(
        "select comment from duckdb_tables() where database_name = 'source' and schema_name = ? and table_name = ?",
        [MARTS_SCHEMA, mart],
    ).fetchall()
    if table_comment:
        con.execute(f"comment on table {table} is {_literal(table_comment)}")
    for name, _, comment in columns:
        if comment:
            con.execute(f"comment on column {table}.{_ident(name)} is {_literal(comment)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
