"""A Ctrl-C or SIGTERM that arrives while dlt normalizes or loads, kept until the load has ended.

dlt intercepts the signals around those steps: the jobs running finish (each one transaction, its files moved
whole), no new one starts, and the step stops; but a signal that came when nothing was left to start is forgotten
when the step ends, and the run went on (a SIGTERM 30,000 tickets into a load: exit 0 after 2.7 s, its row `ok`,
the marts built). The signal's number is what the interpreter writes to its wakeup file descriptor, whoever
handles the signal.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOPPING = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_seen() -> Iterator[list[signal.Signals]]:
    """Within: collects into the yielded list the SIGINT and SIGTERM the process receives, by any handler (dlt's
    included), read when the block ends; off the main thread, where Python handles no signal, it stays empty."""
    seen: list[signal.Signals] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    try:
        yield seen
    finally:
        signal.set_wakeup_fd(previous)
        try:
            received = os.read(read, 256)
        except BlockingIOError:
            received = b""
        os.close(read)
        os.close(write)
        seen.extend(signal.Signals(number) for number in received if number in STOPPING)
