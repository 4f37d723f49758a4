"""The marts' documentation (``marts/schema.toml``): grain, key and one line per column, written
into DuckDB as table and column comments after each build."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.models import ROOT, SCHEMA

SCHEMA_FILE = ROOT / "marts" / "schema.toml"


class UndocumentedColumns(ValueError):
    """A mart has columns ``schema.toml`` does not describe, or describes columns it does not have."""


@dataclass(frozen=True)
class MartDoc:
    """A mart's grain (table comment), key columns and column descriptions."""

    grain: str
    key: tuple[str, ...]
    columns: dict[str, str]


def load_mart_docs(path: Path = SCHEMA_FILE) -> dict[str, MartDoc]:
    """Read ``schema.toml`` into ``{mart name: MartDoc}``."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return {
        name: MartDoc(grain=entry["grain"], key=tuple(entry["key"]), columns=dict(entry["columns"]))
        for name, entry in raw.items()
    }


def comment_mart(con: duckdb.DuckDBPyConnection, name: str, doc: MartDoc) -> None:
    """Put ``doc`` on table ``analytics.<name>`` as table and column comments.

    Raises :class:`UndocumentedColumns` unless ``doc`` describes exactly the table's columns.
    """
    actual = [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
            "and database_name = current_database() order by column_index",
            [SCHEMA, name],
        ).fetchall()
    ]
    problems = []
    undocumented = [c for c in actual if c not in doc.columns]
    if undocumented:
        problems.append(f"columns without a description in {SCHEMA_FILE.name}: {', '.join(undocumented)}")
    absent = [c for c in doc.columns if c not in actual]
    if absent:
        problems.append(f"described but not produced: {', '.join(absent)}")
    if problems:
        raise UndocumentedColumns(f"{SCHEMA}.{name}: " + "; ".join(problems))
    con.execute(f"comment on table {SCHEMA}.{name} is {_literal(doc.grain)}")
    for column in actual:
        con.execute(f'comment on column {SCHEMA}.{name}."{column}" is {_literal(doc.columns[column])}')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
