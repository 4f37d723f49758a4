"""What both ways of flattening share in one run: the column types, the run's tracker, the names dlt stores, when
the run observed the tickets; and the tables they build alike (history, rejects, tombstones)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

import orjson
import pyarrow as pa

from pipelines.usercom import settings as s
from pipelines.usercom.flatten.column_types import TypeRegistry
from pipelines.usercom.flatten.fields import TIMESTAMP
from pipelines.usercom.flatten.names import StoredNames
from pipelines.usercom.flatten.numpy_arrays import from_values, repeated_timestamp
from pipelines.usercom.flatten.tables import flat_table
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.times import to_micros


@dataclass
class FlattenContext:
    """One per run, shared by every listing and both paths (rows.py, columnar.py); thread-safe where it is shared."""

    registry: TypeRegistry
    tracker: RunTracker
    tombstone_empty_lists: bool  # a ticket whose list is empty gets a row deleting its earlier rows
    observed_at: datetime  # `valid_from` of the history rows and `rejected_at` of the rejects
    names: StoredNames = field(default_factory=StoredNames)

    def tombstones(self, stale: dict[str, list[tuple[int, int, range]]]) -> dict[str, pa.Table]:
        """Child-table rows that delete positions an older version of a ticket, read earlier in the run, left."""
        tables = {}
        for table, entries in stale.items():
            keys = [(ticket_id, stamp, p) for ticket_id, stamp, positions in entries for p in positions]
            tables[table] = flat_table(table, {
                s.CHILD_KEY: from_values([k[0] for k in keys], pa.int64()),
                s.CHILD_POSITION: from_values([k[2] for k in keys], pa.int64()),
                s.CHILD_VERSION: from_values([k[1] for k in keys], TIMESTAMP),
                s.TOMBSTONE: from_values([True] * len(keys), pa.bool_()),
            })
        return tables

    def history_table(self, tickets: pa.Table) -> pa.Table:
        """The `tickets_history` rows of these `tickets` rows: their tracked fields, observed at this run."""
        columns = {}
        for name in s.HISTORY_FIELDS:
            columns[name] = tickets.column(name).combine_chunks()
        columns["valid_from"] = repeated_timestamp(to_micros(self.observed_at), TIMESTAMP, tickets.num_rows)
        return flat_table(s.HISTORY_TABLE, columns)

    def rejects_table(self, rejects: list[tuple[Any, str]], listing: str) -> pa.Table:
        """The `tickets_rejected` rows of (raw ticket, reason) pairs met by `listing`: the raw JSON kept whole."""
        raws = [_raw_json(raw) for raw, _ in rejects]
        return flat_table(s.REJECTS_TABLE, {
            "reject_key": from_values([sha256(r.encode()).hexdigest() for r in raws], pa.string()),
            "ticket_id": from_values([_raw_id(raw) for raw, _ in rejects], pa.string()),
            "listing": from_values([listing] * len(rejects), pa.string()),
            "reason": from_values([_storable(reason) for _, reason in rejects], pa.string()),
            "raw_json": from_values(raws, pa.string()),
            "rejected_at": from_values([self.observed_at] * len(rejects), TIMESTAMP),
        })


def _raw_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return None if value is None else _storable(value if isinstance(value, str) else _raw_json(value))


def _raw_json(raw: Any) -> str:
    """The JSON text of a rejected value, keys sorted; values orjson cannot write (a lone surrogate, a number
    beyond 64 bits, nesting past its limit) are written by the standard library with \\u escapes."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(raw, sort_keys=True, ensure_ascii=True)


def _storable(text: str) -> str:
    """`text`, or its JSON-escaped form when it holds a lone surrogate (which no UTF-8 column can hold)."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        return json.dumps(text, ensure_ascii=True)[1:-1]
