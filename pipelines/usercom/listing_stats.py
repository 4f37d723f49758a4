"""What one status listing did in a run, in one object: filled in by its requests (http/, pages/) as pages arrive
and by its flattening (run/listing.py); the run's summary, progress and run log read it. It lives beside both
layers, importing neither, so http/ fills it without knowing run/."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime


@dataclass
class ListingStats:
    """The figures of one status listing, live while it runs (a failed run's are what it had read): its requests',
    for reconciliation against `count`, and what flattening made of its tickets."""

    status: str = ""
    _: KW_ONLY
    pages: int = 0  # fetched: may run a batch ahead of the pages flattened
    received: int = 0
    api_count: int | None = None  # `count` on the first page
    api_count_last: int | None = None  # `count` on the last page: differs from api_count when it changed while paging
    retries: int = 0
    empty_pages_in_a_row: int = 0
    server_time: datetime | None = None
    ended_on_404: str | None = None  # the last page's `next` link, which answered 404 with every ticket received
    unfiltered: bool = False  # the status filter is ignored: this listing lists every ticket
    stopped: bool = False  # the status filter is ignored and another listing lists every ticket
    retry_after_seen: str | None = None  # the last Retry-After of an answer that was retried
    started_at: float | None = None  # time.monotonic() when the listing sent its first request
    throttled: int = 0  # retries of answers that were the API throttling (429, or 401 once the key was accepted)
    throttled_wait: float = 0.0  # seconds those retries waited before going again
    kept: int = 0  # tickets flattened into rows
    skipped_unchanged: int = 0
    rejected: int = 0
    pages_row_by_row: int = 0  # pages the columnar path handed to the row flattener (odd values, unknown lists)
    finished: bool = False

    @property
    def count_mismatch(self) -> int | None:
        """Tickets received minus the API's `count`, once the listing finished; None when unknown."""
        if not self.finished or self.api_count is None:
            return None
        return self.received - self.api_count
