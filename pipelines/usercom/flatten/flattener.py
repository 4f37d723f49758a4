"""Pages → Arrow tables for one run: each page goes the columnar way when it can, else row by row.

Both ways share one `FlattenContext` (context.py), so a rule about how a field is stored lives once:
field types in fields.py, coercion in coercion.py, column types of discovered fields in column_types.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming import NamingConvention

from pipelines.usercom.errors import NotColumnar
from pipelines.usercom.flatten.column_types import TypeRegistry
from pipelines.usercom.flatten.columnar import flatten_tickets
from pipelines.usercom.flatten.context import FlattenContext
from pipelines.usercom.flatten.json_text import page_rows
from pipelines.usercom.flatten.names import StoredNames
from pipelines.usercom.flatten.numpy_arrays import from_values
from pipelines.usercom.flatten.rows import RowPath
from pipelines.usercom.flatten.tables import FlatPage
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.state.versions import VersionLog

if TYPE_CHECKING:
    from pipelines.usercom.http.page import Page

log = logging.getLogger("usercom.flatten")


class PageFlattener:
    """Turns the pages of one run into Arrow tables; one instance serves every status listing."""

    def __init__(self, registry: TypeRegistry, tracker: RunTracker, *, tombstone_empty_lists: bool, observed_at: datetime,
                 naming: NamingConvention | None = None) -> None:
        self.context = FlattenContext(registry, tracker, tombstone_empty_lists, observed_at, StoredNames(naming))
        self._rows = RowPath(self.context)

    @property
    def registry(self) -> TypeRegistry:
        """The run's column types."""
        return self.context.registry

    @property
    def tracker(self) -> RunTracker:
        """The run's record of the ticket versions it emitted."""
        return self.context.tracker

    def flatten_page(self, page: Page, *, listing: str, cursor: UpdatedSince, versions: VersionLog,
                     only: frozenset[str] | None = None) -> FlatPage:
        """The tickets of one parsed page (or batch): by the columnar path when the JSON reader took them and every
        value fits, else row by row. With `only`, just the tickets of those statuses (a listing of every ticket
        in a run of some statuses), and any that is not an object, for the row path to reject."""
        if page.tickets is not None:
            try:
                flat = flatten_tickets(self.context, _of_statuses_arrow(page.tickets, only), cursor=cursor,
                                       versions=versions)
                flat.columnar = True
                return flat
            except NotColumnar as why:
                log.debug("page %s is flattened row by row: %s", page.shown_url, why)
        rows, lenient = page_rows(page)
        if only is not None:
            rows = [t for t in rows if not isinstance(t, dict) or t.get("status") in only]
        return self.flatten(rows, listing=listing, cursor=cursor, versions=versions, verify_text=lenient)

    def flatten(self, tickets: list[Any], *, listing: str, cursor: UpdatedSince, versions: VersionLog,
                verify_text: bool = False) -> FlatPage:
        """Tickets given as parsed JSON, row by row (see `RowPath.flatten`)."""
        return self._rows.flatten(tickets, listing=listing, cursor=cursor, versions=versions, verify_text=verify_text)

    def tombstones(self, stale: dict[str, list[tuple[int, int, range]]]) -> dict:
        """Child-table rows deleting what older versions read earlier in the run left (see `FlattenContext`)."""
        return self.context.tombstones(stale)


def _of_statuses_arrow(tickets: pa.StructArray, only: frozenset[str] | None) -> pa.StructArray:
    if only is None:
        return tickets
    if tickets.type.get_field_index("status") < 0:
        return tickets.slice(0, 0)
    return tickets.filter(pc.is_in(tickets.field("status"), value_set=from_values(sorted(only), pa.string())))
