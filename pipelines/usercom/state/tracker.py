"""What one run has seen: when it started, the newest `updated_at`, and every ticket version it emitted.

A ticket that changes status while we page can be read twice in one run (once per status list).
dlt's merge keeps the newest `tickets` row (dedup on `updated_at`), and child rows are deduplicated
on (ticket_id, position) the same way; only positions that the older version had and the newer lacks
would survive. So the run records (id, updated_at, list lengths) of every version it emits, as compact
NumPy arrays, and when the last listing ends it sends tombstones for those positions.

A list length is kept in one byte; the rare length above 254 is kept exactly in a dict. At 1,000,000
tickets with four child tables that is 20 MB; int32 lengths (which also kept Arrow's buffers alive) were 32 MB.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np

from pipelines.usercom.settings import CURSOR_MARGIN_SECONDS
from pipelines.usercom.state.growing_column import GrowingColumn
from pipelines.usercom.times import from_micros

_LONG = np.iinfo(np.uint8).max  # a stored length of 255 means: look it up in `_long_lengths`


class RunTracker:
    """Shared by every status listing of a run; safe to use from several threads."""

    def __init__(self, listings: int, started_at: datetime | None = None, margin_seconds: int = CURSOR_MARGIN_SECONDS) -> None:
        self._lock = threading.Lock()
        self._start = started_at or datetime.now(UTC)
        self._margin = timedelta(seconds=margin_seconds)
        self._max_seen: int | None = None
        self._pending = listings
        self._ids = GrowingColumn(np.int64)
        self._stamps = GrowingColumn(np.int64)
        self._lengths: dict[str, GrowingColumn] = {}
        self._long_lengths: dict[tuple[str, int], int] = {}  # (table, row): lengths of 255 and more

    def saw_server_time(self, server_time: datetime | None) -> None:
        """Takes the server's clock into the run's start when it is behind ours."""
        if server_time is not None:
            with self._lock:
                self._start = min(self._start, server_time)

    def record(self, ids: list[int], stamps: list[int], lengths: dict[str, list[int]]) -> None:
        """Remembers the ticket versions one page emitted, with the length of each of their lists."""
        if len(ids) == 0:
            return
        with self._lock:
            rows = len(self._ids)
            for table, column in self._lengths.items():
                if table not in lengths:
                    column.pad(len(ids))
            for table, values in lengths.items():
                if table not in self._lengths:
                    self._lengths[table] = GrowingColumn(np.uint8, length=rows)
                values = np.asarray(values)
                for row in np.flatnonzero(values >= _LONG).tolist():
                    self._long_lengths[(table, rows + row)] = int(values[row])
                self._lengths[table].extend(np.minimum(values, _LONG))
            self._ids.extend(ids)
            self._stamps.extend(stamps)
            newest = int(np.max(stamps))
            self._max_seen = newest if self._max_seen is None else max(self._max_seen, newest)

    def cursor(self, newest_seen: int | None = None) -> datetime | None:
        """The next run re-reads tickets updated at or after this: every later version may be unseen.

        Bounded by the newest `updated_at` the run has evidence of: emitted by any listing so far, or
        `newest_seen` (µs) by the calling listing, unchanged tickets included. None without any evidence:
        the caller keeps its previous cursor. (A listing that ends before any other emitted a ticket must
        not jump to the wall clock, which the API's `updated_at` may lag: later updates would be skipped.)
        """
        with self._lock:
            evidence = max((x for x in (self._max_seen, newest_seen) if x is not None), default=None)
            if evidence is None:
                return None
            return min(self._start, from_micros(evidence)) - self._margin

    def finish_listing(self) -> bool:
        """Marks one listing done; True for the last one, which sends the run's tombstones."""
        with self._lock:
            self._pending -= 1
            return self._pending == 0

    def stale_positions(self) -> dict[str, list[tuple[int, int, range]]]:
        """Per child table: (ticket id, newest updated_at µs, positions) that older versions left behind."""
        with self._lock:
            ids = self._ids.values()
            repeated, _ = self._repeated(ids)
            if not len(repeated):
                return {}
            rows_of = np.flatnonzero(np.isin(ids, repeated))
            ids = ids[rows_of]
            stamps = self._stamps.values()[rows_of]
            lengths = {t: self._true_lengths(t, v.values()[rows_of], rows_of) for t, v in self._lengths.items()}
        stale: dict[str, list[tuple[int, int, range]]] = {}
        for ticket_id in repeated.tolist():
            rows = np.flatnonzero(ids == ticket_id)
            newest = rows[np.argmax(stamps[rows])]
            for table, column in lengths.items():
                longest, kept = int(column[rows].max()), int(column[newest])
                if longest > kept:
                    stale.setdefault(table, []).append((ticket_id, int(stamps[newest]), range(kept, longest)))
        return stale

    @staticmethod
    def _repeated(ids: np.ndarray) -> tuple[np.ndarray, int]:
        """The ids read more than once, and how many extra reads there were."""
        ordered = np.sort(ids)  # one copy; np.unique with counts made three at the end of a 1,000,000-ticket run
        again = ordered[1:] == ordered[:-1]
        return np.unique(ordered[1:][again]), int(again.sum())

    def _true_lengths(self, table: str, stored: np.ndarray, rows: np.ndarray) -> np.ndarray:
        lengths = stored.astype(np.int64)
        for at in np.flatnonzero(stored == _LONG).tolist():
            lengths[at] = self._long_lengths[(table, int(rows[at]))]
        return lengths

    def repeated_tickets(self) -> int:
        """How many tickets were read more than once in this run."""
        with self._lock:
            return self._repeated(self._ids.values())[1]
