"""Pages (of any form) fetched on a thread of their own, one ahead of the listing that flattens them; when one listing fails,
the others stop requesting before its error is handed on."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import TypeVar

from pipelines.usercom.errors import Halted
from pipelines.usercom.stopping import RequestsStopped, register_halt, requests_stopped

# how long a failing listing waits for the others to stop before its error is raised (a request in flight ends first)
STOP_OTHERS_SECONDS = 2.0

_DONE = object()

T = TypeVar("T")


class ReadAheads:
    """The read-ahead threads of one client's listings. When one listing fails, the others stop requesting before
    its error is handed on (their listings end at once, `read_ahead`): dlt closes the other listings' generators on
    the first error, and one still waiting for a page there fails with "generator already executing", which would
    hide the error's own words."""

    def __init__(self, wait_seconds: float = STOP_OTHERS_SECONDS) -> None:
        self._wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._running: dict[threading.Event, threading.Thread] = {}

    def start(self, halt: threading.Event, thread: threading.Thread) -> None:
        """Starts `thread`, the read-ahead of the listing that `halt` stops."""
        with self._lock:  # started before another listing's `stop_others` can see it (joining an unstarted thread raises)
            thread.start()
            self._running[halt] = thread

    def ended(self, halt: threading.Event) -> None:
        """The listing of `halt` ended."""
        with self._lock:
            self._running.pop(halt, None)

    def stop_others(self, halt: threading.Event) -> None:
        """Stops every listing but the one of `halt`, waiting a little for each to end (a request in flight ends first)."""
        with self._lock:
            others = [(h, t) for h, t in self._running.items() if h is not halt]
        for other, _ in others:
            other.set()
        deadline = time.monotonic() + self._wait_seconds
        for _, thread in others:
            thread.join(max(0.0, deadline - time.monotonic()))


def read_ahead(pages: Iterator[T], halt: threading.Event, listings: ReadAheads) -> Iterator[T]:
    """Yields the items of `pages`, produced on a thread that keeps one item ready ahead of the consumer.

    An exception of `pages` is raised where its item would have been, once the other listings stopped. `halt`
    (set by another listing's failure) makes `pages` stop before its next request or back-off, and this
    listing end at once as if it were complete, its thread left to end with the request in flight: the run
    fails with the other listing's error. Closing this generator (the run failed elsewhere, or was
    interrupted) sets `halt` and waits for the thread to end (at most the request in flight).
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    closed = threading.Event()
    failed = threading.Event()  # set before the others are halted: this listing's error is on its way
    register_halt(halt)  # an interrupted run sets it (usercom/stopping.py)

    def hand_over(item: tuple) -> bool:
        while not closed.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        error = None
        try:
            for page in pages:
                if not hand_over((page, None)):
                    return
        except Halted:
            pass
        except BaseException as failure:  # noqa: BLE001 (handed to the consumer, raised there)
            error = failure
            failed.set()
            listings.stop_others(halt)
        finally:
            pages.close()
            listings.ended(halt)
        hand_over((_DONE, error))

    thread = threading.Thread(target=produce, name="usercom-pages", daemon=True)
    listings.start(halt, thread)
    halted = False  # by another listing's failure
    try:
        while True:
            try:
                page, error = ready.get(timeout=0.1)
            except queue.Empty:
                if requests_stopped():
                    raise RequestsStopped("the run was interrupted") from None
                # not once the request in flight ended: dlt closes this listing's generator on the other's error,
                # which fails with "generator already executing", hiding that error, if a worker still waits here
                halted = halt.is_set() and not failed.is_set()
                if halted:
                    return
                continue
            if requests_stopped():  # what was fetched before the interrupt is not handed on
                raise RequestsStopped("the run was interrupted")
            if error is not None:
                raise error
            if page is _DONE:
                return
            yield page
    finally:
        closed.set()
        halt.set()
        # interrupted or halted: the request in flight is abandoned with its daemon thread, which sends no other
        if not (halted or requests_stopped()):
            thread.join()  # the request in flight ends, then the thread
