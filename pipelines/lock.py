"""One run at a time per data directory: an exclusive `flock` on `<data dir>/.usercom-run.lock`.

Two runs on one directory would interleave dlt load packages and state files and write the same
DuckDB file. The lock is an advisory `fcntl.flock` held for the whole run; the kernel releases it
when the process ends in any way (exit, exception, SIGKILL), so a crashed run never leaves a stale
lock behind. The file keeps the holder's pid and start time, only to name it in the error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pipelines.run_errors import DestinationFailed
from pipelines.usercom.errors import RunLockedError

LOCK_FILE = ".usercom-run.lock"
POLL_SECONDS = 0.2


class RunLock:
    """Context manager: holds the data directory's run lock, waiting up to `wait_seconds` for it. Taken once per
    run, where the run starts (`run_setup.prepared_run`)."""

    def __init__(self, directory: Path, wait_seconds: float = 0.0) -> None:
        self.path = Path(directory) / LOCK_FILE
        self.wait_seconds = max(0.0, wait_seconds)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise DestinationFailed(
                f"the data directory {self.path.parent} is not writable ({error.strerror}); nothing was run. "
                "Check its permissions and free space, or choose another with --data-dir / USERCOM_DATA_DIR."
            ) from None
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    waited = f" after waiting {self.wait_seconds:.0f} s" if self.wait_seconds else ""
                    raise RunLockedError(
                        f"another usercom-tickets run ({holder}) is using the data directory {self.path.parent}{waited}; "
                        f"this run did nothing. Wait for it to end (or pass --wait-for-lock SECONDS), then re-run."
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same, only the holder's name is missing
            os.pwrite(fd, f"pid {os.getpid()}, started {started}, {command_line()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing releases the flock; the file stays (unlinking a lock file races)


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 2048, 0).decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "pid unknown"


def command_line() -> str:
    """This process's command line as a shell would take it (`usercom-tickets run --data-dir /srv/data`), for the
    lock file. No option of ours takes a secret; a URL's password or a token in it is masked all the same."""
    from pipelines.error_text import one_line

    return one_line(shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]]))
