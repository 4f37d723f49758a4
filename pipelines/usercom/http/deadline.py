"""A bound on the whole of one HTTP request, from connecting to the last byte of the body.

requests' `timeout` applies to each socket operation: a server that accepts the connection and then
sends one byte a second never trips it, and a nightly run would hang for as long as the server likes.
`Deadline` is watched by one watchdog thread; when its time comes it shuts the request's socket down, which
wakes the blocked read at once, and the caller turns the resulting error into a `requests.Timeout`.

The socket is found through a small hook on urllib3's connection pool (`_get_conn`, the one place a
pool hands a connection to a request), which records the connection in the thread's current deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class _Watchdog:
    """One thread that expires every `Deadline` of the process when its time comes.

    A `threading.Timer` per request started and stopped a thread for every page: ~7% of an unchanged
    re-run's GIL time. Deadlines that end in time stay in the heap until their hour and are then dropped.
    """

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Deadline]] = []
        self._wake = threading.Condition()
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline, seconds: float) -> None:
        """Calls `deadline._expire()` after `seconds`, unless it is done by then."""
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._sequence), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="usercom-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, deadline = heapq.heappop(self._due)
            deadline._expire()


_WATCHDOG = _Watchdog()


class Deadline:
    """`with Deadline(seconds) as d:` - a request made inside is cut off after `seconds`; then `d.expired`."""

    RECHECK_SECONDS = 0.05  # when the deadline passes before the socket exists (still connecting)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._connection = None
        self._done = False
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._arm(self.seconds)
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._done = True
        _current.deadline = None

    def attach(self, connection) -> None:
        """Called by the pool with the connection this thread's request uses."""
        with self._lock:
            self._connection = connection
            expired = self.expired
        if expired:
            _shut(connection)

    def _arm(self, seconds: float) -> None:
        _WATCHDOG.watch(self, seconds)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            connection = self._connection
            if connection is None or getattr(connection, "sock", None) is None:
                self._arm(self.RECHECK_SECONDS)  # not connected yet: the connect timeout bounds that; look again
        if connection is not None:
            _shut(connection)


def _shut(connection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Tracked:
    def _get_conn(self, timeout=None):  # noqa: D401 (urllib3's name)
        connection = super()._get_conn(timeout)
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.attach(connection)
        return connection


class _TrackedHTTPPool(_Tracked, HTTPConnectionPool):
    pass


class _TrackedHTTPSPool(_Tracked, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """requests adapter whose pools report each request's connection to the thread's `Deadline`."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        _track(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        _track(manager)
        return manager


def _track(manager) -> None:
    manager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}
