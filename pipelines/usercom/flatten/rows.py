"""The row path: tickets as parsed JSON → `tickets`, one child table per list field, history and rejects.

Columns are built whole (one Python list per column, one NumPy-built array each: numpy_arrays.py), never as row dicts.
Known fields have fixed types; a ticket whose known field cannot be typed goes to `tickets_rejected`
with its raw JSON. Unknown fields are kept: objects flatten to `parent__field` columns, lists become
child tables `tickets__<field>`, scalars become columns typed by the run's `TypeRegistry`.

This row-by-row path is the reference: `PageFlattener.flatten_page` (flattener.py) first tries the columnar
path (columnar.py), which makes the same tables from Arrow arrays, and comes here for what it refuses.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.usercom import settings as s
from pipelines.usercom.errors import NotCoercible
from pipelines.usercom.flatten.coercion import (
    COERCERS,
    VARIANT_SUFFIX,
    as_arrow,
    infer_type,
    timestamps_as_arrow,
    to_int,
    to_timestamp,
)
from pipelines.usercom.flatten.column_types import TypeRegistry
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
from pipelines.usercom.flatten.names import StoredNames
from pipelines.usercom.flatten.numpy_arrays import from_values
from pipelines.usercom.flatten.tables import FlatPage, flat_table
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.versions import VersionLog
from pipelines.usercom.times import to_micros

_OBJECT_OR_NULL = {dict, type(None)}


class _Columns:
    """Column lists of one table under construction, with the rows that failed typing."""

    def __init__(self, table: str, rows: int, registry: TypeRegistry, errors: dict[int, str],
                 names: StoredNames | None = None) -> None:
        self.table_name = table
        self.rows = rows
        self.registry = registry
        self.errors = errors
        self.names = names or StoredNames()
        self.data: dict[str, tuple[pa.DataType, list | pa.Array]] = {}

    def _claim(self, name: str, values: list[Any]) -> str | None:
        """The stored name of a new column; None, rejecting each row that has a value, when it is taken or unusable."""
        stored = self.names(name)
        if stored and stored not in self.data:
            return stored
        why = (f"field `{name}` would be stored as column `{stored}`, which another field fills" if stored
               else f"field `{name}` has no usable column name")
        for i, value in enumerate(values):
            if value is not None:
                self.errors.setdefault(i, why)
        return None

    def known(self, name: str, arrow_type: pa.DataType, values: list[Any]) -> None:
        """A column of fixed type: a value that does not fit rejects its row."""
        name = self._claim(name, values)
        if name is None:
            return
        if arrow_type == TIMESTAMP and self._timestamps(name, values):
            return
        array = as_arrow(values, arrow_type)
        if array is not None:  # nothing to coerce: built in C
            self.data[name] = (arrow_type, array)
            return
        coerce = COERCERS[arrow_type]
        out = [None] * len(values)
        for i, value in enumerate(values):
            if value is not None:
                try:
                    out[i] = coerce(value)
                except NotCoercible as error:
                    self.errors.setdefault(i, f"field `{name}`: {error}")
        self.data[name] = (arrow_type, out)

    def _timestamps(self, name: str, values: list[Any]) -> bool:
        """Timestamps cast by Arrow; values in a form Arrow does not read go through `to_timestamp` one by one."""
        parsed = timestamps_as_arrow(values)
        if parsed is None:
            return False
        array, others = parsed
        if others:
            out: list[Any] = [None] * len(values)
            for i in others:
                try:
                    out[i] = to_timestamp(values[i])
                except NotCoercible as error:
                    self.errors.setdefault(i, f"field `{name}`: {error}")
            array = pc.if_else(array.is_valid(), array, from_values(out, TIMESTAMP))
        self.data[name] = (TIMESTAMP, array)
        return True

    def discovered(self, name: str, values: list[Any]) -> None:
        """A column of a field the code does not know: typed by the registry, misfits to variant columns.

        A field that is null in every row adds no column: nothing is lost, and its type waits for a value.
        """
        if all(v is None for v in values):
            return
        name = self._claim(name, values)
        if name is None:
            return
        arrow_type = self.registry.resolve(self.table_name, name, values)
        array = as_arrow(values, arrow_type)
        if array is not None:  # every value fits: no variant column
            self.data[name] = (arrow_type, array)
            return
        coerce = COERCERS[arrow_type]
        out = [None] * len(values)
        misfits: list[Any] = [None] * len(values)
        has_misfit = False
        for i, value in enumerate(values):
            if value is not None:
                try:
                    out[i] = coerce(value)
                except NotCoercible:
                    misfits[i] = value
                    has_misfit = True
        self.data[name] = (arrow_type, out)
        if has_misfit:
            misfit_type = infer_type([v for v in misfits if v is not None])
            if misfit_type == arrow_type:  # cannot be stored even as its own type (text beyond JSON): reject
                for i, value in enumerate(misfits):
                    if value is not None:
                        self.errors.setdefault(i, f"field `{name}`: cannot be stored as {VARIANT_SUFFIX[arrow_type]}")
                return
            self.discovered(f"{name}__v_{VARIANT_SUFFIX[misfit_type]}", misfits)

    def object(self, prefix: str, values: list[Any], known: dict[str, pa.DataType] | None) -> None:
        """Flattens a column of objects to `prefix__key` columns; a bare id stands for `{id: ...}`."""
        if set(map(type, values)) <= _OBJECT_OR_NULL:
            return self._objects(prefix, values, known)
        objects: list[dict | None] = []
        for i, value in enumerate(values):
            if value is None or isinstance(value, dict):
                objects.append(value)
            elif known is not None and "id" in known and isinstance(value, (int, str)) and not isinstance(value, bool):
                objects.append({"id": value})
            else:
                objects.append(None)
                if known is not None:
                    self.errors.setdefault(i, f"field `{prefix}`: expected an object, got {type(value).__name__}")
        self._objects(prefix, objects, known)

    def _objects(self, prefix: str, objects: list[dict | None], known: dict[str, pa.DataType] | None) -> None:
        keys = _keys(objects)
        for key in (list(known) if known else []) + [k for k in keys if not known or k not in known]:
            column = f"{prefix}__{key}" if prefix else key
            sub = [o.get(key) if o is not None else None for o in objects]
            if known and key in known:
                self.known(column, known[key], sub)
            elif _all_of(sub, dict) and column.count("__") < MAX_FLATTEN_DEPTH:
                self.object(column, sub, None)
            else:
                self.discovered(column, sub)

    def table(self, keep: list[int] | None = None) -> pa.Table:
        """The Arrow table of these columns, limited to the row positions in `keep`."""
        arrays = {}
        indices = None if keep is None or len(keep) == self.rows else from_values(keep, pa.int64())
        for name, (arrow_type, values) in self.data.items():
            if isinstance(values, pa.Array):
                arrays[name] = values if indices is None else values.take(indices)
                continue
            if indices is not None:
                values = [values[i] for i in keep]
            arrays[name] = from_values(values, arrow_type)
        return flat_table(self.table_name, arrays)


class RowPath:
    """Flattens a page's tickets given as parsed JSON, one value at a time where it must: takes every page."""

    def __init__(self, context: FlattenContext) -> None:
        self.context = context

    def flatten(self, tickets: list[Any], *, listing: str, cursor: UpdatedSince, versions: VersionLog,
                verify_text: bool = False) -> FlatPage:
        """Flattens one page; tickets the cursor calls unchanged are skipped before any typing.

        `verify_text` (for pages the lenient JSON parser read) first rejects each ticket holding text that is
        not valid Unicode (a lone surrogate) or a number beyond 64 bits: nothing downstream could store it.
        """
        page = FlatPage()
        rejects: list[tuple[Any, str]] = []
        candidates, ids, stamps, seen_ids, seen_stamps, listed = [], [], [], [], [], []
        for ticket in tickets:
            if verify_text:
                try:
                    orjson.dumps(ticket)
                except TypeError as error:
                    rejects.append((ticket, f"the ticket cannot be stored as sent ({error}); kept here as raw JSON"))
                    _add_listed_id(listed, ticket)
                    continue
            try:
                ticket_id, stamp = _identity(ticket)
            except NotCoercible as error:
                rejects.append((ticket, str(error)))
                _add_listed_id(listed, ticket)  # listed all the same: an earlier version may be loaded
                continue
            listed.append(ticket_id)
            if cursor.since is not None and stamp < cursor.since:
                page.skipped_unchanged += 1
                continue
            seen_ids.append(ticket_id)
            seen_stamps.append(stamp)
            if cursor.unchanged(ticket_id, stamp):
                page.skipped_unchanged += 1
                continue
            candidates.append(ticket)
            ids.append(ticket_id)
            stamps.append(stamp)

        versions.add(seen_ids, seen_stamps)
        page.listed_ids = np.array(listed, np.int64)
        if not candidates:  # an unchanged page (every page of a re-run): no columns to build, no tables
            if rejects:
                page.tables[s.REJECTS_TABLE] = self.context.rejects_table(rejects, listing)
            page.rejected = len(rejects)
            return page
        rows = candidates
        identity = list(zip(ids, stamps, strict=True))

        errors: dict[int, str] = {}
        tickets_cols = self._tickets_columns(rows, errors)
        children = self._child_columns(rows, identity, errors)
        valid = [i for i in range(len(rows)) if i not in errors]
        self.context.tracker.record(
            [ids[i] for i in valid], [stamps[i] for i in valid],
            {table: [lengths[i] for i in valid] for table, (_, _, lengths) in children.items()},
        )
        rejects.extend((rows[i], reason) for i, reason in sorted(errors.items()))

        if valid:
            tickets_table = tickets_cols.table(valid)
            page.tables[s.TICKETS_TABLE] = tickets_table
            page.tables[s.HISTORY_TABLE] = self.context.history_table(tickets_table)
        valid_rows = set(valid)
        for name, (cols, row_of, _) in children.items():
            keep_rows = [j for j, i in enumerate(row_of) if i in valid_rows]
            # known child tables are sent even empty, so they exist (with their columns) from the first load
            if keep_rows or (valid and name[len(CHILD_PREFIX):] in LIST_FIELDS):
                page.tables[name] = cols.table(keep_rows)
        if rejects:
            page.tables[s.REJECTS_TABLE] = self.context.rejects_table(rejects, listing)
        page.kept = len(valid)
        page.rejected = len(rejects)
        return page

    def _tickets_columns(self, rows: list[dict], errors: dict[int, str]) -> _Columns:
        cols = _Columns(s.TICKETS_TABLE, len(rows), self.context.registry, errors, self.context.names)
        for name, arrow_type in TICKET_COLUMNS.items():
            cols.known(name, arrow_type, [t.get(name) for t in rows])
        for name, known in OBJECT_FIELDS.items():
            cols.object(name, [t.get(name) for t in rows], known)
        for key in sorted(_keys(rows) - KNOWN_TOP_FIELDS):
            values = [t.get(key) for t in rows]
            if _all_of(values, list):
                continue  # a child table, built by _child_columns
            if _all_of(values, dict):
                cols.object(key, values, None)
            else:
                cols.discovered(key, values)
        return cols

    def _child_columns(
        self, rows: list[dict], identity: list[tuple[int, int]], errors: dict[int, str]
    ) -> dict[str, tuple[_Columns, list[int], list[int]]]:
        list_fields = [k for k in sorted(_keys(rows) - KNOWN_TOP_FIELDS) if _all_of([t.get(k) for t in rows], list)]
        names: dict[str, str] = {}
        for f in list(LIST_FIELDS) + list_fields:
            table = self.context.names(CHILD_PREFIX + f)
            if table.startswith(CHILD_PREFIX) and table not in names:
                names[table] = f
                continue
            for i, t in enumerate(rows):  # two lists that would share one table, or a name dlt cannot store
                if t.get(f):
                    errors.setdefault(i, f"list `{f}` would be stored as table `{table}`, which another field fills"
                                      if table.startswith(CHILD_PREFIX) else f"list `{f}` has no usable table name")
        for table in self.context.registry.tables():
            if table.startswith(CHILD_PREFIX) and table not in names:
                names[table] = table[len(CHILD_PREFIX):]
        return {table: self._child(table, f, rows, identity, errors) for table, f in names.items()}

    def _child(
        self, table: str, field_name: str, rows: list[dict], identity: list[tuple[int, int]], errors: dict[int, str],
    ) -> tuple[_Columns, list[int], list[int]]:
        """Rows of one child table for a page: (columns, ticket row of each child row, list length per ticket)."""
        lists = [_as_list(t.get(field_name)) for t in rows]
        row_of, positions, deleted, elements = [], [], [], []
        for i, items in enumerate(lists):
            for position, item in enumerate(items):
                row_of.append(i)
                positions.append(position)
                deleted.append(False)
                elements.append(item)
            if not items and self.context.tombstone_empty_lists:
                # a tombstone at position -1 makes the merge clear the rows an earlier version left
                row_of.append(i)
                positions.append(-1)
                deleted.append(True)
                elements.append(None)
        cols = _Columns(table, len(row_of), self.context.registry, {}, self.context.names)
        cols.data[s.CHILD_KEY] = (pa.int64(), [identity[i][0] for i in row_of])
        cols.data[s.CHILD_POSITION] = (pa.int64(), positions)
        cols.data[s.CHILD_VERSION] = (TIMESTAMP, [identity[i][1] for i in row_of])
        cols.data[s.TOMBSTONE] = (pa.bool_(), deleted)
        known = LIST_FIELDS.get(field_name)
        if any(e is not None and not isinstance(e, dict) for e in elements):
            cols.discovered("value", [None if isinstance(e, dict) else e for e in elements])
        if any(isinstance(e, dict) for e in elements) or known:
            cols.object("", [e if isinstance(e, dict) else None for e in elements], known)
        for j, message in cols.errors.items():
            errors.setdefault(row_of[j], f"list `{field_name}`[{positions[j]}]: {message}")
        return cols, row_of, [len(x) for x in lists]


def _identity(ticket: Any) -> tuple[int, int]:
    if not isinstance(ticket, dict):
        raise NotCoercible(f"the ticket is not a JSON object but {type(ticket).__name__}")
    for name in s.REQUIRED_FIELDS:
        if ticket.get(name) is None:
            raise NotCoercible(f"field `{name}` is missing")
    try:
        ticket_id = to_int(ticket["id"])
    except NotCoercible as error:
        raise NotCoercible(f"field `id`: {error}") from None
    try:
        stamp = to_micros(to_timestamp(ticket["updated_at"]))
    except NotCoercible as error:
        raise NotCoercible(f"field `updated_at`: {error}") from None
    return ticket_id, stamp


def _add_listed_id(listed: list[int], ticket: Any) -> None:
    """Adds the id of a rejected ticket to `listed`, when it has one that fits a BIGINT."""
    if isinstance(ticket, dict) and ticket.get("id") is not None:
        with suppress(NotCoercible):
            listed.append(to_int(ticket["id"]))


def _keys(rows: list[dict | None]) -> set[str]:
    return set().union(*filter(None, rows))  # in C, adding keys in the order `keys.update(row)` row by row did


def _all_of(values: list[Any], kind: type) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, kind) for v in present)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
