"""What both ways of flattening (rows.py, columnar.py) build: a page's Arrow tables, and how a listing hands
them to dlt in items of thousands of rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipelines.usercom import settings as s

# Key columns are never null; saying so in the Arrow schema matches dlt's key hints.
_NOT_NULL = {
    s.TICKETS_TABLE: {"id", "updated_at"},
    s.HISTORY_TABLE: {"id", "updated_at"},
    s.REJECTS_TABLE: {"reject_key"},
}
_CHILD_NOT_NULL = {s.CHILD_KEY, s.CHILD_POSITION, s.CHILD_VERSION}
_SCHEMAS: dict[tuple, pa.Schema] = {}  # the pages of a run share a few schemas; building one costs ~40 µs


def flat_table(table: str, columns: dict[str, pa.Array]) -> pa.Table:
    """An Arrow table of `columns`, its key columns marked not null."""
    key = (table, *columns, *(array.type for array in columns.values()))
    schema = _SCHEMAS.get(key)
    if schema is None:
        required = _NOT_NULL.get(table, _CHILD_NOT_NULL)
        schema = pa.schema([pa.field(name, array.type, nullable=name not in required) for name, array in columns.items()])
        if len(_SCHEMAS) > 1000:
            _SCHEMAS.clear()
        _SCHEMAS[key] = schema
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


@dataclass
class FlatPage:
    """The Arrow tables of one page, and what happened to its tickets."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    kept: int = 0
    skipped_unchanged: int = 0
    rejected: int = 0
    columnar: bool = False  # built by the columnar flattener (else row by row)
    listed_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # every ticket's id, unchanged ones too


class TableBatcher:
    """Gathers one listing's tables and hands each one on once it holds `rows` rows or `max_bytes` bytes (and at
    the end).

    dlt computes and merges a table schema for every Arrow item a resource yields (~2 ms an item here, half of
    a 100k-ticket run at one item per table per page); items of thousands of rows make that negligible, and
    the byte bound keeps memory flat (a `tickets` item of 10,000 rows is ~13 MB of text). The rows loaded are
    the same: only how they are cut into items changes.
    """

    def __init__(self, rows: int = 10_000, max_bytes: int = 8_000_000) -> None:
        self.rows = rows
        self.max_bytes = max_bytes
        self._parts: dict[str, list[pa.Table]] = {}
        self._counts: dict[str, tuple[int, int]] = {}

    def add(self, tables: dict[str, pa.Table]) -> Iterator[tuple[str, pa.Table]]:
        """Takes one page's tables; yields (name, table) for each table that reached `rows` rows or `max_bytes`."""
        for name, table in tables.items():
            self._parts.setdefault(name, []).append(table)
            rows, size = self._counts.get(name, (0, 0))
            rows, size = rows + table.num_rows, size + table.nbytes
            self._counts[name] = (rows, size)
            if rows >= self.rows or size >= self.max_bytes:
                yield name, self._take(name)

    def flush(self) -> Iterator[tuple[str, pa.Table]]:
        """Yields (name, table) for every table still held."""
        for name in list(self._parts):
            yield name, self._take(name)

    def _take(self, name: str) -> pa.Table:
        parts = self._parts.pop(name)
        self._counts.pop(name)
        # pages may differ in columns (a field only some pages have): missing ones are null
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="default")
