"""What one run has seen so far: the run's start, tickets that may appear twice, and child list lengths.

A ticket shows up in two status lists of one run only if it changed while we paged, so its newer
version has `updated_at` after the run's start (less a margin for clock skew). Only such recent
tickets are remembered, which keeps memory flat however many tickets the account has.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from pipelines.usercom.settings import RECENT_MARGIN_SECONDS


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class RunTracker:
    """Shared by every status listing of a run; safe to use from several threads."""

    def __init__(self, started_at: datetime | None = None, margin_seconds: int = RECENT_MARGIN_SECONDS) -> None:
        self._lock = threading.Lock()
        self._client_start = started_at or datetime.now(timezone.utc)
        self._margin = timedelta(seconds=margin_seconds)
        self._cutoff: datetime | None = None
        self._recent: dict[int, int] = {}
        self._max_len: dict[str, int] = {}

    def start(self, server_time: datetime | None) -> datetime:
        """Fixes the run's cutoff on the first page: the earlier of our clock and the server's, less the margin."""
        with self._lock:
            if self._cutoff is None:
                start = self._client_start
                if server_time is not None and server_time < start:
                    start = server_time
                self._cutoff = start - self._margin
            return self._cutoff

    @property
    def cutoff(self) -> datetime:
        """Tickets updated before this were all read in their current version; the next run's cursor."""
        return self.start(None)

    def admit(self, ids: list[int], updated: list[int]) -> tuple[list[bool], list[bool]]:
        """For each ticket (id, updated_at in µs): whether to keep it, and whether it is recent.

        A ticket is dropped when a version at least as new was already admitted in this run.
        """
        cutoff = to_micros(self.cutoff)
        keep, recent = [], []
        with self._lock:
            for ticket_id, stamp in zip(ids, updated):
                previous = self._recent.get(ticket_id)
                if previous is not None and previous >= stamp:
                    keep.append(False)
                    recent.append(False)
                    continue
                is_recent = stamp >= cutoff
                if is_recent:
                    self._recent[ticket_id] = stamp
                keep.append(True)
                recent.append(is_recent)
        return keep, recent

    def longest_list(self, table: str, page_longest: int) -> int:
        """Records a page's longest list for a child table; returns the longest seen in this run."""
        with self._lock:
            longest = max(self._max_len.get(table, 0), page_longest)
            self._max_len[table] = longest
            return longest
