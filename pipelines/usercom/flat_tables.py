"""What both flatteners (row by row in `arrow.py`, columnar in `columnar.py`) build: a page's Arrow tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from pipelines.usercom import settings as s

KNOWN_TOP_FIELDS = set(s.TICKET_COLUMNS) | set(s.OBJECT_FIELDS) | set(s.LIST_FIELDS)
CHILD_PREFIX = s.TICKETS_TABLE + "__"
# Objects nested deeper than this are kept as JSON text in one column instead of one column per leaf.
MAX_FLATTEN_DEPTH = 12
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
