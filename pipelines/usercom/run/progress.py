"""How a run shows its listings' progress: log lines by default (pipes, cron), live bars in a terminal.

The source calls `update` each time a listing's page arrives or its tickets are counted (on the listing's
read-ahead thread, so the figures move with the requests, not with dlt taking the pages), and `finish` when a
listing ends; the command line passes `TerminalProgress` (pipelines/terminal_progress.py) when it runs in a
terminal.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from pipelines.usercom.listing_stats import ListingStats

log = logging.getLogger("usercom.source")

LOG_EVERY_SECONDS = 10.0  # a listing's progress line in a log, at most this often (and its first page)


class ListingProgress(Protocol):
    """Receives each listing's figures while it runs."""

    def update(self, listing: str, figures: ListingStats) -> None:
        """`listing` has received `figures.pages` pages holding `figures.received` tickets so far (live figures,
        read at once: they move on)."""

    def finish(self, listing: str, figures: ListingStats) -> None:
        """`listing` read its last page."""


class LogProgress:
    """An INFO line for a listing's first tickets and then one every `LOG_EVERY_SECONDS`:
    `closed: 48 pages, 4800 tickets so far`; a listing the API throttled says so when it ends."""

    def __init__(self, every_seconds: float = LOG_EVERY_SECONDS) -> None:
        self._every = every_seconds
        self._logged_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def update(self, listing: str, figures: ListingStats) -> None:
        """Logs the listing's figures so far, when its last line is old enough."""
        now = time.monotonic()
        with self._lock:
            if not figures.received or now - self._logged_at.get(listing, -self._every) < self._every:
                return
            self._logged_at[listing] = now
        log.info("%s: %d pages, %d tickets so far", listing, figures.pages, figures.received)

    def finish(self, listing: str, figures: ListingStats) -> None:
        """The listing's throttling, if any (the run's summary has its totals)."""
        if figures.throttled:
            log.info("%s: %s", listing, throttle_text(figures))


def throttle_text(figures: ListingStats) -> str:
    """`throttled 14×, waited 21 s`: how often the API throttled a listing's requests and how long retries waited."""
    wait = figures.throttled_wait
    return f"throttled {figures.throttled}×, waited {wait:.0f} s" if wait >= 10 else \
        f"throttled {figures.throttled}×, waited {wait:.1f} s"
