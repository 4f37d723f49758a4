"""A page once parsed, what the flatteners take: the tickets of one or more consecutive pages, as Arrow (parsed
together by the JSON reader) or as parsed JSON; and the JSON text parser both paths use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.usercom.flatten.numpy_arrays import from_values


@dataclass
class Page:
    """Tickets of one or more consecutive pages of a listing: as Arrow (`tickets`, parsed together by the JSON
    reader) or as parsed JSON (`results`, one page); `rows()` gives parsed JSON either way."""

    url: str = ""  # of the first page
    number: int = 0  # of the first page
    results: list[dict] | None = None
    count: int | None = None  # of the first page
    server_time: datetime | None = None
    lenient: bool = False  # parsed by the standard library: may hold lone surrogates or numbers beyond 64 bits
    tickets: pa.StructArray | None = None
    bodies: list[bytes] = field(default_factory=list, repr=False)  # kept until `results` is parsed
    pages: int = 1
    only: frozenset[str] | None = None  # keep only tickets of these statuses (a listing of every ticket, subset run)
    next_url: str | None = None  # of the last page

    @property
    def size(self) -> int:
        """How many tickets the page(s) hold."""
        return len(self.results) if self.results is not None else len(self.tickets)

    def statuses(self) -> list:
        """The `status` of each ticket (None where there is none)."""
        if self.results is not None:
            return [t.get("status") if isinstance(t, dict) else None for t in self.results]
        if self.tickets.type.get_field_index("status") < 0:
            return [None] * len(self.tickets)
        return self.tickets.field("status").to_pylist()

    def rows(self) -> list[dict]:
        """The tickets as parsed JSON (parsed now when the JSON reader took the pages)."""
        if self.results is None:
            self.results = []
            for body in self.bodies:
                doc, lenient = parse_page_body(body)
                self.results.extend(doc["results"])
                self.lenient |= lenient
            self.bodies = []
            if self.only is not None:
                self.results = _of_statuses(self.results, self.only)
        return self.results

    def keep_statuses(self, statuses: frozenset[str]) -> None:
        """Keeps only the tickets whose `status` is one of `statuses` (and any that is not an object, for the
        flattener to reject)."""
        self.only = statuses
        if self.results is not None:
            self.results = _of_statuses(self.results, statuses)
        if self.tickets is not None:
            if self.tickets.type.get_field_index("status") < 0:
                self.tickets = self.tickets.slice(0, 0)
            else:
                keep = pc.is_in(self.tickets.field("status"), value_set=from_values(sorted(statuses), pa.string()))
                self.tickets = self.tickets.filter(keep)


def _of_statuses(tickets: list, statuses: frozenset[str]) -> list:
    return [t for t in tickets if not isinstance(t, dict) or t.get("status") in statuses]


def parse_page_body(content: bytes) -> tuple[object, bool]:
    """The JSON of a body, and whether it needed the lenient parser.

    orjson first (fast); what it refuses but the standard library reads (a lone UTF-16 surrogate escape such
    as "\\ud800", which JavaScript clients do produce) is read leniently: one odd ticket must not block the
    whole listing; the flattener rejects such tickets with their raw JSON. Raises ValueError when neither reads it.
    """
    try:
        return orjson.loads(content), False
    except orjson.JSONDecodeError as error:
        first = error
    try:
        return json.loads(content), True
    except (ValueError, RecursionError):
        raise first from None
