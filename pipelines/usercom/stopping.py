"""A stop for every request of the process: once the job is interrupted (Ctrl-C, SIGTERM), no request leaves.

`stop_requests()` is called from the signal handler of the command line (or by the job when an interrupt reaches
it): every listing's halt event is set, so waits for a pacing slot, a back-off and the status-filter check end at
once, the next request is not sent, and the read-ahead threads are abandoned with the request in flight (they are
daemon threads: the process does not wait for them). A signal that dlt takes while it normalizes or loads is
seen by the job, which calls it too (pipelines/job/held_signals.py); `on_stop` adds what else the process does
then (the command line: nothing more of dlt's or of abandoned threads printed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pipelines.usercom.errors import UsercomError

_STOPPED = threading.Event()
# a SIGINT/SIGTERM of this run was taken (by the command line or the job's watcher): a list, not an Event, whose
# set() takes a lock the main thread may hold when the handler runs in it
_SIGNALLED: list[bool] = []
# the halt events of this run's listings: a list, appended to and copied without a lock (the signal handler runs
# in the main thread, which may be appending), emptied when the next run starts
_HALTS: list[threading.Event] = []
_ON_STOP: list[Callable[[], object]] = []  # for the whole process: not emptied by `allow_requests()`


class RequestsStopped(UsercomError):
    """The run was interrupted: this listing stopped before its end (never taken for a complete listing)."""


def stop_requests() -> None:
    """No request leaves from now on; every listing's halt event is set. Safe in a signal handler."""
    _STOPPED.set()
    for halt in list(_HALTS):
        halt.set()
    for callback in list(_ON_STOP):
        callback()


def on_stop(callback: Callable[[], object]) -> None:
    """`callback` is called by every `stop_requests()` from now on (in a signal handler or the job's signal
    thread: it must be quick and safe there)."""
    _ON_STOP.append(callback)


def allow_requests() -> None:
    """Requests may leave again (a new run in the same process)."""
    _HALTS.clear()
    _STOPPED.clear()
    _SIGNALLED.clear()


def mark_signalled() -> None:
    """A SIGINT or SIGTERM of this run was taken (by the command line's handler, or read by the job while dlt held
    it): the next one is a second signal. Safe in a signal handler."""
    _SIGNALLED.append(True)


def was_signalled() -> bool:
    """Whether `mark_signalled()` was called since the run started. Not `requests_stopped()`: the job's signal
    thread may stop the requests for the very signal the command line's handler is about to take."""
    return bool(_SIGNALLED)


def requests_stopped() -> bool:
    """Whether `stop_requests()` was called since the run started."""
    return _STOPPED.is_set()


def register_halt(halt: threading.Event) -> None:
    """`halt` (a listing's) is set by `stop_requests()`, at once when it already was called."""
    _HALTS.append(halt)
    if _STOPPED.is_set():
        halt.set()
