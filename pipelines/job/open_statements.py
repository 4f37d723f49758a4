"""The connections dlt's SQL clients hold open while it loads, so that a stopping job can cancel what they run.

dlt runs each load job (a copy into a table, a merge) on a connection of its own in a pool thread, and on a
signal waits for the jobs running to end: a merge of 200,000 tickets into DuckDB held the exit 3.6-7.6 s after
the signal. Cancelled, a statement ends at once with an error, its transaction rolled back; dlt takes the job for
one to retry, starts none, and its load step stops (the safety copy then puts the DuckDB file back). dlt has no
hook for that, so within `OpenStatements` a few of its methods are wrapped, and put back when the block ends:
its DuckDB and PostgreSQL clients' `open_connection` and `close_connection`, to keep the connection each holds,
and `RunnableLoadJob.run_managed`, so that a cancelled job wakes dlt's loader at once: a job to retry does not,
and the loader looks again only after a second (0.56-0.63 s of a 1.4-1.9 s exit at 200,000 tickets).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType

# dlt's SQL client classes, by module and name, and how a statement running on their connection is cancelled:
# DuckDB's `interrupt()` (a no-op when the connection is idle), psycopg2's `cancel()` (the server's cancel request)
CANCELLABLE = (
    ("dlt.destinations.impl.duckdb.sql_client", "DuckDbSqlClient", "interrupt"),
    ("dlt.destinations.impl.postgres.sql_client", "Psycopg2SqlClient", "cancel"),
)


def _client_classes() -> list[tuple[type, str]]:
    """The classes of `CANCELLABLE` that import here (PostgreSQL's needs the `postgres` extra)."""
    found = []
    for module, name, method in CANCELLABLE:
        try:
            found.append((getattr(importlib.import_module(module), name), method))
        except ImportError:
            continue
    return found


class OpenStatements:
    """`with OpenStatements() as statements:` keeps the connections dlt's SQL clients open inside the block;
    `statements.cancel()` (from any thread) cancels what each one runs. Used on the main thread only, one at a
    time: the wrapped methods are the classes' own, for the whole process."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[object, str]] = {}  # id of the SQL client -> its connection, the cancel method
        self._lock = threading.Lock()
        self._cancelled = False
        self._replaced: list[tuple[type, str, object]] = []

    def __enter__(self) -> OpenStatements:
        from dlt.common.destination.client import RunnableLoadJob

        for client_class, method in _client_classes():
            self._wrap_client(client_class, method)
        self._wrap_job(RunnableLoadJob)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for owner, name, original in reversed(self._replaced):
            if original is None:  # the class had inherited it
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._replaced.clear()
        with self._lock:
            self._open.clear()

    def _replace(self, owner: type, name: str, wrapper: Callable) -> None:
        self._replaced.append((owner, name, owner.__dict__.get(name)))
        setattr(owner, name, wrapper)

    def _wrap_client(self, client_class: type, method: str) -> None:
        opening: Callable = client_class.open_connection
        closing: Callable = client_class.close_connection

        def open_connection(client):
            connection = opening(client)
            with self._lock:
                self._open[id(client)] = (connection, method)
            return connection

        def close_connection(client) -> None:
            with self._lock:
                self._open.pop(id(client), None)
            closing(client)

        self._replace(client_class, "open_connection", open_connection)
        self._replace(client_class, "close_connection", close_connection)

    def _wrap_job(self, job_class: type) -> None:
        running: Callable = job_class.run_managed

        def run_managed(job, job_client, done_event, /) -> None:
            try:
                running(job, job_client, done_event)
            finally:
                if self._cancelled and job.state() == "retry":  # dlt's loader waits on this for its next look
                    with suppress(ValueError):  # already released: the loader wakes anyway
                        done_event.release()

        self._replace(job_class, "run_managed", run_managed)

    def cancel(self) -> int:
        """Cancels the statement each open connection runs (an idle one is left as it is); returns how many
        connections were open. A connection closed meanwhile is skipped."""
        self._cancelled = True
        with self._lock:
            connections = list(self._open.values())
        for connection, method in connections:
            with suppress(Exception):  # closed by its thread meanwhile: nothing left to cancel
                getattr(connection, method)()
        return len(connections)
