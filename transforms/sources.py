"""The raw tables the models read, and views that make them always look the same.

The pipeline only creates a column once some ticket had a value for it (no ticket with a company: no
``company__id``) and only creates a child table once some ticket had a row for it. Staging models
therefore read ``analytics.src_<table>`` views, which select every column of the contract below from
the raw table and put a typed ``NULL`` in place of a column (or of the whole table) that is missing.
"""

from __future__ import annotations

import duckdb

RAW_SCHEMA = "usercom"

# raw table -> {column: type}: the columns staging reads (extra raw columns are left alone).
RAW_CONTRACT: dict[str, dict[str, str]] = {
    "tickets": {
        "id": "BIGINT",
        "status": "VARCHAR",
        "name": "VARCHAR",
        "custom_id": "VARCHAR",
        "created_at": "TIMESTAMPTZ",
        "updated_at": "TIMESTAMPTZ",
        "due_date": "TIMESTAMPTZ",
        "assigned_to__id": "BIGINT",
        "assigned_to__name": "VARCHAR",
        "assigned_to__avatar": "VARCHAR",
        "author__id": "BIGINT",
        "author__name": "VARCHAR",
        "author__avatar": "VARCHAR",
        "priority__id": "BIGINT",
        "priority__name": "VARCHAR",
        "priority__order": "BIGINT",
        "person__id": "BIGINT",
        "company__id": "BIGINT",
        "_dlt_load_id": "VARCHAR",
    },
    "tickets__status_history": {
        "ticket_id": "BIGINT",
        "position": "BIGINT",
        "entered_at": "TIMESTAMPTZ",
        "status": "VARCHAR",
    },
    "tickets_history": {
        "id": "BIGINT",
        "updated_at": "TIMESTAMPTZ",
        "status": "VARCHAR",
        "assigned_to__id": "BIGINT",
        "assigned_to__name": "VARCHAR",
        "priority__id": "BIGINT",
        "priority__name": "VARCHAR",
        "due_date": "TIMESTAMPTZ",
        "valid_from": "TIMESTAMPTZ",
        "valid_to": "TIMESTAMPTZ",
    },
}

REQUIRED_TABLES = ("tickets",)


class RawDataMissing(RuntimeError):
    """A raw table the models cannot do without (``usercom.tickets``) does not exist yet."""


def source_view_names() -> dict[str, str]:
    """``{raw table: name of the analytics view standing for it}``."""
    return {table: f"src_{table}" for table in RAW_CONTRACT}


def install_sources(con: duckdb.DuckDBPyConnection, schema: str = "analytics") -> None:
    """Create one ``<schema>.src_<table>`` view per contract table.

    Raises :class:`RawDataMissing` when a required raw table is absent.
    """
    rows = con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = ? and database_name = current_database()",
        [RAW_SCHEMA],
    ).fetchall()
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(table, set()).add(column)

    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise RawDataMissing(
            f"raw table(s) {', '.join(f'{RAW_SCHEMA}.{t}' for t in missing)} not found: run the pipeline first"
        )

    for table, name in source_view_names().items():
        columns = RAW_CONTRACT[table]
        have = present.get(table)
        select_list = ",\n    ".join(
            f'"{col}"' if have and col in have else f'cast(null as {typ}) as "{col}"' for col, typ in columns.items()
        )
        origin = f'from {RAW_SCHEMA}."{table}"' if have else "where false"
        con.execute(f'create or replace view {schema}."{name}" as\nselect\n    {select_list}\n{origin}')
