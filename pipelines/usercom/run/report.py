"""What a run of the source did, per status listing, filled in while it runs (the run's summary reads it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.usercom.http.status_filter import Evidence
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.state.listed import ListedTickets

if TYPE_CHECKING:
    from pipelines.usercom.http.pacing import Pacer


@dataclass
class RunReport:
    """Per-status figures of one run, filled in while the source runs."""

    listings: dict[str, ListingStats] = field(default_factory=dict)
    repeated: int = 0  # tickets read in two status lists (they moved while we paged)
    filter_ignored: Evidence | None = None  # the first page that showed the API ignoring the status filter
    throttles: int = 0  # answers that were the API throttling (429, or 401 once the key was accepted)
    paced_at: float | None = None  # requests/s the run was held to at its end; None: never paced
    pacer: Pacer | None = field(default=None, repr=False)  # the run's request rate, its throttle count live
    listed: ListedTickets = field(default_factory=ListedTickets)  # every ticket id the listings received
    complete_run: int | None = None  # the run's number when it listed every status to its end (state/listed.py)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def listing(self, status: str) -> ListingStats:
        """The figures of one status listing, created on first use."""
        with self.lock:
            return self.listings.setdefault(status, ListingStats(status))

    def requests_so_far(self) -> RequestFigures:
        """Pages, tickets received, retries and throttled answers up to now, finished or not (a failed run's too)."""
        listed = list(self.listings.values())
        return RequestFigures(
            pages=sum(x.pages for x in listed), received=sum(x.received for x in listed),
            retries=sum(x.retries for x in listed), throttled=self.pacer.throttles if self.pacer else self.throttles,
        )


@dataclass(frozen=True)
class RequestFigures:
    """What a run's requests came to: pages read, tickets received, requests retried, answers that were throttling."""

    pages: int
    received: int
    retries: int
    throttled: int
