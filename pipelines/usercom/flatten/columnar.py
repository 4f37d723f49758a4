"""The columnar path: a page's tickets as one Arrow struct array → the same tables the row path (rows.py) makes.

Every step is an Arrow or NumPy kernel over whole columns (struct fields become columns, list fields become
child tables by their offsets), so a pass costs ~1.5 ms of Python whatever its size: the client hands it
~2 MB of pages at once. It takes only pages where every value fits its column as sent; anything else (a
value of the wrong type, a name dlt would fold onto another, a list field the code does not know, a
timestamp in a form Arrow's cast does not read) raises `NotColumnar` before the version log and the run's
tracker are touched, and the row flattener, which rejects or keeps each odd value exactly, reads the pages
instead (the column types registered on the way are the ones it registers for the same values).
`tests/test_columnar.py` checks both paths give identical tables and state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from pipelines.usercom import settings as s
from pipelines.usercom.errors import NotColumnar
from pipelines.usercom.flatten.coercion import timestamps_as_arrow
from pipelines.usercom.flatten.context import FlattenContext
from pipelines.usercom.flatten.fields import (
    CHILD_PREFIX,
    KNOWN_TOP_FIELDS,
    LIST_FIELDS,
    MAX_FLATTEN_DEPTH,
    OBJECT_FIELDS,
    TICKET_COLUMNS,
    TIMESTAMP,
)
from pipelines.usercom.flatten.numpy_arrays import from_numpy, numbers, valid
from pipelines.usercom.flatten.tables import FlatPage, flat_table
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.versions import VersionLog


@dataclass
class _TableColumns:
    """The columns of one table under construction, by the name dlt stores them under."""

    table: str
    context: FlattenContext
    arrays: dict[str, pa.Array] = field(default_factory=dict)

    def _claim(self, name: str) -> str:
        stored = self.context.names(name)
        if not stored or stored in self.arrays:
            raise NotColumnar(f"field `{name}` has no column name of its own")
        return stored

    def known(self, name: str, arrow_type: pa.DataType, array: pa.Array) -> None:
        """A column of fixed type (read as declared; timestamps arrive as text)."""
        name = self._claim(name)
        if arrow_type == TIMESTAMP:
            array = _timestamps(name, array)
        elif array.type != arrow_type:
            raise NotColumnar(f"field `{name}` was read as {array.type}")
        self.arrays[name] = array

    def discovered(self, name: str, array: pa.Array, nested: bool = True) -> None:
        """A field the code does not know: objects flatten further, scalars take the registry's type."""
        if array.null_count == len(array):  # null in every ticket of the page: no column (as the row path)
            return
        if pat.is_struct(array.type):
            if nested and name.count("__") >= MAX_FLATTEN_DEPTH:  # the row path keeps it as JSON text
                raise NotColumnar(f"field `{name}` nests deeper than {MAX_FLATTEN_DEPTH}")
            self.object(name, array, None)
            return
        if not (pat.is_integer(array.type) or pat.is_floating(array.type) or pat.is_boolean(array.type)
                or pat.is_string(array.type)):
            raise NotColumnar(f"field `{name}` is a {array.type}")
        stored = self._claim(name)
        registered = self.context.registry.resolve_inferred(self.table, stored, array.type)
        self.arrays[stored] = _fit(stored, array, registered)

    def object(self, prefix: str, array: pa.StructArray, known: dict[str, pa.DataType] | None) -> None:
        """A struct column → `prefix__key` columns (`key` at a child table's top), known keys first."""
        children = dict(zip((f.name for f in array.type), array.flatten(), strict=True))  # flatten() carries the struct's nulls
        for key, arrow_type in (known or {}).items():
            self.known(_join(prefix, key), arrow_type, children.pop(key))
        for key, child in children.items():
            self.discovered(_join(prefix, key), child)


def flatten_tickets(context: FlattenContext, tickets: pa.StructArray, *, cursor: UpdatedSince,
                    versions: VersionLog) -> FlatPage:
    """The tables of one page, as the row path (rows.py) makes them; raises NotColumnar to hand the page back."""
    page = FlatPage()
    if tickets.null_count:
        raise NotColumnar("a ticket is not an object")
    fields = dict(zip((f.name for f in tickets.type), tickets.flatten(), strict=True))
    unknown = sorted(set(fields) - KNOWN_TOP_FIELDS)
    for key in unknown:
        if pat.is_list(fields[key].type) and fields[key].null_count < len(tickets):
            raise NotColumnar(f"list field `{key}` is not a known child table")
    ids = fields["id"]
    if ids.null_count:
        raise NotColumnar("a ticket has no id")
    stamps_array = _timestamps("updated_at", fields["updated_at"])
    if stamps_array.null_count:
        raise NotColumnar("a ticket has no updated_at")
    ids_np = numbers(ids, np.int64)
    stamps_np = numbers(stamps_array.cast(pa.int64()), np.int64)
    page.listed_ids = ids_np

    seen = np.ones(len(tickets), bool) if cursor.since is None else stamps_np >= cursor.since
    changed = seen & ~cursor.unchanged_mask(ids_np, stamps_np)
    keep = np.flatnonzero(changed)
    if len(keep) == 0:
        versions.add(ids_np[seen], stamps_np[seen])
        page.skipped_unchanged = len(tickets)
        return page
    if len(keep) < len(tickets):
        indices = from_numpy(keep.astype(np.int64), pa.int64())
        fields = {name: array.take(indices) for name, array in fields.items()}
    ids_kept, stamps_kept = ids_np[keep], stamps_np[keep]

    columns = _TableColumns(s.TICKETS_TABLE, context)
    for name, arrow_type in TICKET_COLUMNS.items():
        columns.known(name, arrow_type, fields[name])
    for name, known in OBJECT_FIELDS.items():
        columns.object(name, fields[name], known)
    for key in unknown:
        columns.discovered(key, fields[key], nested=False)

    children = _child_tables(context, fields, ids_kept, stamps_kept)
    tickets_table = flat_table(s.TICKETS_TABLE, columns.arrays)
    history = context.history_table(tickets_table)

    # the page is taken: only now is shared state touched
    versions.add(ids_np[seen], stamps_np[seen])
    context.tracker.record(ids_kept, stamps_kept, {name: lengths for name, (_, lengths) in children.items()})
    page.tables[s.TICKETS_TABLE] = tickets_table
    page.tables[s.HISTORY_TABLE] = history
    for name, (table, _) in children.items():
        if table is not None:
            page.tables[name] = table
    page.kept = len(keep)
    page.skipped_unchanged = len(tickets) - len(keep)
    return page


def _child_tables(context: FlattenContext, fields: dict[str, pa.Array], ids: np.ndarray,
                  stamps: np.ndarray) -> dict[str, tuple[pa.Table | None, np.ndarray]]:
    """Per child table: its rows for these tickets (None when it has none to send) and each ticket's list length."""
    out: dict[str, tuple[pa.Table | None, np.ndarray]] = {}
    for name, known in LIST_FIELDS.items():
        table = context.names(CHILD_PREFIX + name)
        if not table.startswith(CHILD_PREFIX) or table in out:
            raise NotColumnar(f"list `{name}` has no table name of its own")
        lists = fields[name]
        lengths = np.where(valid(lists), numbers(lists.value_lengths(), np.int32), 0).astype(np.int32)
        columns = _TableColumns(table, context)
        keys, deleted = _child_keys(ids, stamps, lengths, context.tombstone_empty_lists)
        columns.arrays.update(keys)
        elements = pc.list_flatten(lists)
        if deleted.any():
            elements = elements.take(_element_slots(deleted))  # null elements for the tombstone rows
        columns.object("", elements, known)
        out[table] = (flat_table(table, columns.arrays), lengths)
    empty = np.zeros(len(ids), np.int32)
    for table in context.registry.tables():
        if table.startswith(CHILD_PREFIX) and table not in out:  # a list of earlier runs no ticket here has
            keys, deleted = _child_keys(ids, stamps, empty, context.tombstone_empty_lists)
            out[table] = (flat_table(table, keys) if len(deleted) else None, empty)
    return out


def _child_keys(ids: np.ndarray, stamps: np.ndarray, lengths: np.ndarray,
                tombstones: bool) -> tuple[dict[str, pa.Array], np.ndarray]:
    """ticket_id, position, ticket_updated_at and _deleted of a child table's rows: each ticket's elements in
    order, and (with `tombstones`) one row at position -1 for a ticket whose list is empty; and which rows are
    tombstones, as a NumPy mask."""
    empty = lengths == 0
    counts = np.where(empty, 1, lengths) if tombstones else lengths
    row_of = np.repeat(np.arange(len(ids)), counts)
    starts = np.cumsum(counts) - counts
    positions = np.arange(len(row_of)) - np.repeat(starts, counts)
    deleted = np.repeat(empty, counts) if tombstones else np.zeros(len(row_of), bool)
    positions[deleted] = -1
    return {
        s.CHILD_KEY: from_numpy(ids[row_of], pa.int64()),
        s.CHILD_POSITION: from_numpy(positions.astype(np.int64), pa.int64()),
        s.CHILD_VERSION: from_numpy(stamps[row_of], pa.int64()).cast(TIMESTAMP),
        s.TOMBSTONE: from_numpy(deleted, pa.bool_()),
    }, deleted


def _element_slots(deleted: np.ndarray) -> pa.Array:
    """For each child row, the index of its element in the flattened lists; null for a tombstone row."""
    return from_numpy(np.cumsum(~deleted, dtype=np.int64) - 1, pa.int64(), mask=deleted)


def _timestamps(name: str, strings: pa.Array) -> pa.Array:
    if not pat.is_string(strings.type) and not pat.is_null(strings.type):
        raise NotColumnar(f"field `{name}` was read as {strings.type}")
    parsed = timestamps_as_arrow(strings if pat.is_string(strings.type) else strings.cast(pa.string()))
    if parsed is None or parsed[1]:
        raise NotColumnar(f"field `{name}` holds a timestamp in a form only the row path reads")
    return parsed[0]


def _fit(name: str, array: pa.Array, registered: pa.DataType) -> pa.Array:
    """`array` in the column's registered type, where the row path's coercer gives the same value; else NotColumnar."""
    if pat.is_floating(array.type) and not pc.all(pc.is_finite(array)).as_py():
        raise NotColumnar(f"field `{name}` holds NaN or infinity")
    if array.type == registered:
        return array
    try:
        if pat.is_integer(array.type) and registered in (pa.float64(), pa.string()):
            return array.cast(registered)  # safe cast: refuses an integer a double cannot hold exactly
        if pat.is_boolean(array.type) and registered == pa.string():
            return array.cast(registered)  # "true"/"false", as the JSON text
        if pat.is_string(array.type) and registered == TIMESTAMP:
            return _timestamps(name, array)
    except pa.ArrowInvalid:
        pass
    raise NotColumnar(f"field `{name}` read as {array.type} does not fit its column of type {registered}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}__{key}" if prefix else key
