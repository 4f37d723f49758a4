"""Process-wide setup of a run, made once where a run starts (the command line's `main`, `job.run_job` for library
users), never on import: Arrow's allocator, files private to their owner, the data directory's run lock, and (the
command line only) Ctrl-C and SIGTERM stopping a run at once and dlt's anonymous telemetry off unless configured.

Logging is the command line's to set (`pipelines/cli.py`); a library user's own logging configuration is kept.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.lock import RunLock

PRIVATE_UMASK = 0o077  # support data is personal data: files of a run are readable by their owner only


def use_system_allocator() -> None:
    """Arrow allocates through the C library's allocator from now on (the figures are in usercom/run/memory.py).

    `ARROW_DEFAULT_MEMORY_POOL` chooses the pool Arrow's C++ code allocates from and is read when pyarrow loads,
    so the command line calls this before anything imports pyarrow (its mimalloc pool kept freed pages in the
    heaps of idle threads: a 1,000,000-ticket run held ~25 MB more after extracting). An explicit value of the
    variable wins there; Python's default pool is the system one either way.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    import pyarrow as pa  # after the variable is set: the first import of pyarrow reads it

    pa.set_memory_pool(pa.system_memory_pool())


def telemetry_off_unless_configured() -> None:
    """dlt's anonymous usage telemetry off for this process, unless the user set `runtime.dlthub_telemetry`.

    dlt posts an event per pipeline step from a thread that the process waits for at exit. A nightly job on a
    closed network then waits on the DNS lookup: one here took 320 s, and runs with a rejected key outlived a
    120 s timeout. Support data stays in-house by default; `RUNTIME__DLTHUB_TELEMETRY=true` turns it back on.
    """
    import dlt
    from dlt.common.runtime.telemetry import stop_telemetry

    if dlt.config.get("runtime.dlthub_telemetry") is None:
        os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
        stop_telemetry()  # dlt started it when it first read its configuration, just above


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders created inside are readable by their owner only (umask 077); the caller's umask is back after."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


@contextmanager
def prepared_run(directory: Path, lock_wait_seconds: float = 0.0) -> Iterator[Path]:
    """Holds what a run needs before it touches `directory`: files private to their owner, the directory (0700),
    and its run lock (waiting up to `lock_wait_seconds` for another run). Taken once per run."""
    with private_files():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with RunLock(directory, lock_wait_seconds):
            yield directory


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (a scheduler or `kill` stopping the job): the run stops as on Ctrl-C, nothing partial committed."""

    signum = signal.SIGTERM


def interrupt_for(signum: int) -> KeyboardInterrupt:
    """What stops the run for `signum`: `Terminated` for SIGTERM, KeyboardInterrupt for Ctrl-C."""
    return Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()


def _quiet() -> None:
    """What dlt's pools, its cancelled jobs and dbt's output readers say while they are abandoned is not printed
    over the bars."""
    threading.excepthook = lambda args: None
    logging.getLogger("dlt").disabled = True


def _held_by_dlt() -> bool:
    """Whether dlt's own handler took a signal it has not acted on yet (it calls this one for the second)."""
    dlt_signals = sys.modules.get("dlt.common.runtime.signals")  # not imported: no dlt step ran, none taken
    return dlt_signals is not None and dlt_signals.was_signal_received()


def stop_on_signals() -> None:
    """From now on Ctrl-C (SIGINT) and SIGTERM stop the run at once: no request leaves after the signal (the
    listings' threads are abandoned with their request in flight: usercom/stopping.py), and `KeyboardInterrupt`
    (`Terminated` for SIGTERM) is raised in the main thread, so the run ends through its error path (its row in
    the run log says `interrupted`, the lock is released). A second signal ends the process at once, without a
    traceback. The command line's choice; a library user's own handlers are left alone. dlt keeps this as the
    second signal's handler while it intercepts signals around its normalize and load steps; the first one there
    is seen by the job, which cancels what dlt runs (pipelines/job/held_signals.py) and calls `stop_requests()`."""
    from pipelines.usercom.stopping import mark_signalled, on_stop, stop_requests, was_signalled

    def stop(signum: int, frame: object) -> None:
        if was_signalled() or _held_by_dlt():  # the second signal: nothing more to wait for
            os._exit(128 + signum)
        mark_signalled()
        stop_requests()
        raise interrupt_for(signum)

    on_stop(_quiet)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
