"""A bound on the whole of one HTTP request, from connecting to the last byte of the body.

requests' `timeout` applies to each socket operation: a server that accepts the connection and then
sends one byte a second never trips it, and a nightly run would hang for as long as the server likes.
`Deadline` is watched by one watchdog thread; when its time comes it shuts the request's socket down, which
wakes the blocked read at once, and the caller turns the resulting error into a `requests.Timeout`.

The socket is found through urllib3's public connection classes: `DeadlineHTTPConnection` (and its https
twin) records itself in the thread's current deadline when it connects and when it sends a request, and the
pools of `deadline_pools` use them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time

from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
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


def _attach(connection) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _ReportsToDeadline:
    """A connection that a request's `Deadline` can cut off: it reports itself when it connects or sends."""

    def connect(self) -> None:
        """Connects (TLS handshake included), reachable by the thread's deadline from the start."""
        _attach(self)
        super().connect()

    def request(self, *args, **kwargs) -> None:
        """Sends a request (on a new or a kept-alive connection), reachable by the thread's deadline."""
        _attach(self)
        super().request(*args, **kwargs)


class DeadlineHTTPConnection(_ReportsToDeadline, HTTPConnection):
    """urllib3's http connection, reporting to the thread's deadline."""


class DeadlineHTTPSConnection(_ReportsToDeadline, HTTPSConnection):
    """urllib3's https connection, reporting to the thread's deadline."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


def deadline_pools(manager: PoolManager) -> PoolManager:
    """`manager` (a PoolManager or ProxyManager) making its pools of the connections above; returned for chaining."""
    manager.pool_classes_by_scheme = DEADLINE_POOLS
    return manager
