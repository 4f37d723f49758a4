"""Live progress of a run's listings in a terminal: one bar per listing (tickets of `count`, pages, rate, ETA).

rich, because its display refreshes from a thread of its own and asks the terminal nothing, so a listing never
waits on the terminal; enlighten queried the cursor position on every redraw, which held a 20,000-ticket run
for 40 s instead of 3 s in a terminal that did not answer. Log lines keep printing above the bars (dlt's too:
pipelines/log_setup.py hands them to the same handlers). The fields shown follow the terminal's width, so a
line never wraps (a wrapped line is what rich cannot move back over) and no number is cut.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text

from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.run.progress import ListingProgress, LogProgress

RATE_WINDOW_SECONDS = 10.0  # the rate is what arrived over the last this many seconds, up to now
RATE_AFTER_SECONDS = 1.0  # no rate before a listing has received for this long ...
RATE_AFTER_ARRIVALS = 3  # ... and counted tickets this many times


class ArrivalRate:
    """Tickets a second that really arrived over the last `RATE_WINDOW_SECONDS`, up to now: a listing held up by a
    throttle shows its rate falling. (rich's `Task.speed` divides by the time between the first and the last
    sample, so a listing stalled on a 429 kept showing the rate of its last burst.)"""

    def __init__(self, started: float) -> None:
        self._started = started
        self._samples: deque[tuple[float, int]] = deque([(started, 0)])
        self._arrivals = 0
        self.finished_at: float | None = None

    def add(self, now: float, tickets: int) -> None:
        """`tickets` have arrived in all, by `now` (the listing started at `started` with none)."""
        if tickets != self._samples[-1][1]:
            self._samples.append((now, tickets))
            self._arrivals += 1

    def per_second(self, now: float) -> float | None:
        """Tickets a second from the last sample before the window (or the first) up to `now` (or the listing's
        end); None until enough arrived to tell (once the listing ended, what it received is enough)."""
        finished = self.finished_at is not None
        now = self.finished_at if finished else now
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= now - RATE_WINDOW_SECONDS:
            samples.popleft()
        if not self._arrivals or not finished and (
                self._arrivals < RATE_AFTER_ARRIVALS or now - self._started < RATE_AFTER_SECONDS):
            return None
        since, base = samples[0]
        return (samples[-1][1] - base) / (now - since) if now > since else None


class _TicketsColumn(ProgressColumn):
    """`716/2446 tickets`, or `716 tickets` before the API's count is known; never cut."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        return Text(f"{done}/{int(task.total)} tickets" if task.total is not None else f"{done} tickets",
                    style="progress.download")


class _RateColumn(ProgressColumn):
    """`253 tickets/s` over the real window; blank until there is one."""

    def render(self, task: Task) -> Text:
        rate = task.fields["rate"].per_second(time.monotonic())
        return Text("" if rate is None else f"{rate:,.0f} tickets/s", style="progress.data.speed")


class _EtaColumn(ProgressColumn):
    """`ETA 0:01:23` at the window's rate; `ETA -:--:--` while there is no rate."""

    def render(self, task: Task) -> Text:
        if task.total is not None and task.completed >= task.total:
            return Text("ETA 0:00:00", style="progress.remaining")
        rate = task.fields["rate"].per_second(time.monotonic())
        if task.total is None or not rate:
            return Text("ETA -:--:--", style="progress.remaining")
        minutes, seconds = divmod(int((task.total - task.completed) / rate + 0.999), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"ETA {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")


def _layouts() -> list[tuple[int, list[ProgressColumn]]]:
    """(least terminal width, columns), widest first: pages, throttling and elapsed time go first as the terminal
    narrows, then the bar; the longest narrow line (6-digit counts) is 72 characters."""
    name, eta = TextColumn("{task.description:<8}"), _EtaColumn()
    tickets = _TicketsColumn(table_column=Column(justify="right", no_wrap=True))
    rate = _RateColumn(table_column=Column(justify="right", no_wrap=True))
    pages = TextColumn("{task.fields[pages]} pages")
    throttled = TextColumn("{task.fields[throttled]}")
    return [
        (120, [name, BarColumn(bar_width=24), tickets, pages, rate, throttled, TimeElapsedColumn(), eta]),
        (100, [name, BarColumn(bar_width=16), tickets, pages, rate, TimeElapsedColumn(), eta]),
        (80, [name, BarColumn(bar_width=10), tickets, rate, eta]),
        (0, [name, tickets, rate, eta]),
    ]


class _ListingBars(Progress):
    """rich's Progress, its columns chosen by the console's width at each refresh (a resized terminal too)."""

    def __init__(self, console: Console, **kwargs) -> None:
        self._layouts = _layouts()
        self._console = console
        super().__init__(*self._layouts[0][1], console=console, **kwargs)

    def get_renderables(self):
        """The task table with the widest layout that fits."""
        width = self._console.width
        self.columns = next(columns for least, columns in self._layouts if width >= least)
        yield self.make_tasks_table(self.tasks)


class TerminalProgress:
    """A bar per listing; `update` only records figures (cheap, from the listings' threads), rich draws them."""

    def __init__(self, stream: TextIO) -> None:
        self._progress = _ListingBars(console=Console(file=stream), redirect_stdout=False,
                                      redirect_stderr=stream is sys.stderr)
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def update(self, listing: str, figures: ListingStats) -> None:
        """Moves the listing's bar to the tickets received of the API's count (more when some moved in meanwhile)."""
        now, tickets, count = time.monotonic(), figures.received, figures.api_count
        total = None if count is None else max(count, tickets)
        shown = {"pages": figures.pages, "throttled": f"throttled {figures.throttled}×" if figures.throttled else ""}
        with self._lock:
            task = self._tasks.get(listing)
            if task is None:  # added with its figures: rich may draw it at once
                rate = ArrivalRate(figures.started_at or now)
                rate.add(now, tickets)
                self._tasks[listing] = self._progress.add_task(listing, total=total, completed=tickets, rate=rate, **shown)
                return
            self._progress.tasks[task].fields["rate"].add(now, tickets)
            self._progress.update(task, completed=tickets, total=total, **shown)

    def finish(self, listing: str, figures: ListingStats) -> None:
        """Marks the listing's bar complete, its rate the listing's last."""
        with self._lock:
            task = self._tasks.get(listing)
            if task is not None:
                done = self._progress.tasks[task].completed
                self._progress.tasks[task].fields["rate"].finished_at = time.monotonic()
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
