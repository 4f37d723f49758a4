"""Live progress of a run's listings in a terminal: one bar per listing (tickets of `count`, pages, rate, ETA).

rich, because its display refreshes from a thread of its own and asks the terminal nothing, so a listing never
waits on the terminal; enlighten queried the cursor position on every redraw, which held a 20,000-ticket run
for 40 s instead of 3 s in a terminal that did not answer. Log lines keep printing above the bars.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pipelines.usercom.run.progress import ListingProgress, LogProgress


class TerminalProgress:
    """A bar per listing; `update` only records figures (cheap, from the listings' threads), rich draws them."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TextColumn("tickets"),
            TextColumn("{task.fields[pages]} pages"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(file=stream), redirect_stdout=False, redirect_stderr=stream is sys.stderr,
        )
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def update(self, listing: str, pages: int, tickets: int, count: int | None) -> None:
        """Moves the listing's bar to `tickets` of `count` (tickets can pass `count` when some moved in meanwhile)."""
        with self._lock:
            task = self._tasks.get(listing)
            if task is None:
                task = self._tasks[listing] = self._progress.add_task(listing, total=None, pages=0, rate="")
            elapsed = self._progress.tasks[task].elapsed or 0.0
            rate = f"{tickets / elapsed:,.0f} tickets/s" if elapsed > 0 else ""
            total = None if count is None else max(count, tickets)
            self._progress.update(task, completed=tickets, total=total, pages=pages, rate=rate)

    def finish(self, listing: str) -> None:
        """Marks the listing's bar complete."""
        with self._lock:
            task = self._tasks.get(listing)
            if task is not None:
                done = self._progress.tasks[task].completed
                self._progress.update(task, total=done, completed=done)

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._progress.stop()


@contextmanager
def run_progress(stream: TextIO = sys.stderr) -> Iterator[ListingProgress]:
    """Bars when `stream` is a terminal, else the source's log lines (a pipe, cron). While the bars show, log
    lines meant for `stream` print above them."""
    if not stream.isatty():
        yield LogProgress()
        return
    with TerminalProgress(stream) as progress, _logs_to(sys.stderr, instead_of=stream):
        yield progress


@contextmanager
def _logs_to(target: TextIO, instead_of: TextIO) -> Iterator[None]:
    """Points the log handlers that write to `instead_of` at `target` (rich's stand-in for stderr while the bars
    show, which prints above them)."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler) and h.stream is instead_of]
    for handler in handlers:
        handler.setStream(target)
    try:
        yield
    finally:
        for handler in handlers:
            handler.setStream(instead_of)
