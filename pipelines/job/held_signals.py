"""A Ctrl-C or SIGTERM that arrives while dlt normalizes or loads: the statements running are cancelled at once,
and the signal is kept until the load has ended.

dlt intercepts the signals around those steps: the jobs running finish (each one transaction, its files moved
whole), no new one starts, and the step stops; but a signal that came when nothing was left to start is forgotten
when the step ends, and the run went on (a SIGTERM 30,000 tickets into a load: exit 0 after 2.7 s, its row `ok`,
the marts built). And "the jobs running finish" is a merge of the whole night: 3.6-7.6 s from the signal to the
exit at 200,000 tickets. So the signal's number, which the interpreter writes to its wakeup file descriptor
whoever handles the signal, is read at once by a thread of this module, which cancels the statements dlt's
connections run (open_statements.py) until the step has ended.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pipelines.job.open_statements import OpenStatements
from pipelines.usercom.stopping import mark_signalled, requests_stopped, stop_requests

STOPPING = (signal.SIGINT, signal.SIGTERM)
CANCEL_EVERY_SECONDS = 0.05  # after the signal: a statement a job starts later is cancelled too


@contextmanager
def signals_seen(on_signal: Callable[[], object] | None = None) -> Iterator[list[signal.Signals]]:
    """Within: collects into the yielded list the SIGINT and SIGTERM the process receives, by any handler (dlt's
    included), as they come; from the first one on, `on_signal` is called on a thread of this module every
    `CANCEL_EVERY_SECONDS` until the block ends. Off the main thread, where Python handles no signal, it stays
    empty."""
    seen: list[signal.Signals] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    ended = threading.Event()
    watcher = threading.Thread(target=_watch, args=(read, seen, ended, on_signal), name="usercom-signals", daemon=True)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    watcher.start()
    try:
        yield seen
    finally:
        signal.set_wakeup_fd(previous)
        ended.set()
        os.write(write, b"\0")  # not a signal's number: wakes the watcher to end
        watcher.join()
        os.close(read)
        os.close(write)


def _watch(read: int, seen: list[signal.Signals], ended: threading.Event, on_signal: Callable[[], object] | None) -> None:
    while not ended.is_set():
        seen.extend(signal.Signals(number) for number in os.read(read, 256) if number in STOPPING)
        if seen and on_signal is not None:
            while not ended.is_set():
                on_signal()
                ended.wait(CANCEL_EVERY_SECONDS)


@contextmanager
def statements_cancelled_on_signal(seen: list[signal.Signals]) -> Iterator[None]:
    """Within (around dlt's normalize and load): a SIGINT or SIGTERM stops the job's requests (and whatever else
    `usercom.stopping.on_stop` registered), cancels the statements dlt runs on DuckDB or PostgreSQL at once and
    then until the block ends, and is appended to `seen`."""
    received: list[signal.Signals] = []
    try:
        with OpenStatements() as statements:
            def stop() -> None:
                if not requests_stopped():
                    stop_requests()  # the job is stopping (and the command line goes quiet: run_setup.py)
                statements.cancel()

            with signals_seen(on_signal=stop) as received:
                yield
    finally:  # once the watcher has ended: every signal it read is in
        seen.extend(received)
        if received:  # here, not on the watcher: the handler of the signal it read may not have run yet
            mark_signalled()
