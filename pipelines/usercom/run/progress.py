"""How a run shows its listings' progress: log lines by default (pipes, cron), live bars in a terminal.

The source calls `update` after each batch of pages it flattened and `finish` when a listing ends; the
command line passes `TerminalProgress` (pipelines/terminal_progress.py) when it runs in a terminal.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("usercom.source")


class ListingProgress(Protocol):
    """Receives each listing's figures while it runs."""

    def update(self, listing: str, pages: int, tickets: int, count: int | None) -> None:
        """`listing` has flattened `pages` pages holding `tickets` tickets; the API's `count` is `count`."""

    def finish(self, listing: str) -> None:
        """`listing` read its last page."""


class LogProgress:
    """One INFO line per batch of pages: `closed: 48 pages, 4800 tickets so far`."""

    def update(self, listing: str, pages: int, tickets: int, count: int | None) -> None:
        """Logs the listing's figures so far."""
        log.info("%s: %d pages, %d tickets so far", listing, pages, tickets)

    def finish(self, listing: str) -> None:
        """Nothing more to say: the run's summary has each listing's totals."""
