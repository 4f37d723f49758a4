"""Faults of the process and of the destination: SIGKILL at every step, two runs at once, a full or read-only disk.

The pipeline runs as the nightly job does, `python -m pipelines.cli run` in its own process, against the
real sandbox on 127.0.0.1. Kill points are detected from outside: sandbox request counts during extract,
and the files dlt moves through `<data>/.dlt/usercom/{normalize,load}/...` during normalize and load.
After each fault the next run must end with exactly the sandbox's tickets: no duplicate, none missing,
child tables consistent with their tickets.
"""

from __future__ import annotations

import copy
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.sandbox import SANDBOX_API_KEY, generate_tickets
from tests.conftest import query, run
from tests.test_pipeline import assert_tickets_equal, table_rows

DLT = Path(".dlt") / "usercom"


def cli_env(server) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "RUNTIME__"))}
    return {**base, "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
            "SOURCES__USERCOM__BACKOFF_BASE_SECONDS": "0.01", "SOURCES__USERCOM__MAX_TOTAL_WAIT_SECONDS": "20"}


def start(server, data_dir: Path, *args: str, preexec: Callable | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir), "--no-transform", *args],
        env=cli_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def cli_run(server, data_dir: Path, *args: str, preexec: Callable | None = None) -> tuple[int, str, str]:
    return finish(start(server, data_dir, *args, preexec=preexec))


def entries(folder: Path, pattern: str = "*") -> list[Path]:
    try:
        return list(folder.glob(pattern))
    except OSError:  # moved while we looked
        return []


def packages(data_dir: Path, stage: str) -> list[Path]:
    return entries(data_dir / DLT / "load" / stage)


def jobs(data_dir: Path, state: str, suffix: str) -> list[Path]:
    return [j for p in packages(data_dir, "normalized") for j in entries(p / state, f"*{suffix}")]


# name -> condition on (server, data dir) that says the killed run reached the point
KILL_POINTS: dict[str, Callable] = {
    "extract: first pages read": lambda s, d: s.stats["pages"] >= 3,
    "extract: writing files": lambda s, d: any(entries(x, "*/new_jobs/*.parquet") for x in entries(d / DLT / "normalize")
                                              if x.name != "extracted"),
    "normalize: package extracted": lambda s, d: bool(entries(d / DLT / "normalize" / "extracted")),
    "normalize: load package being written": lambda s, d: bool(packages(d, "new")),
    "load: copying files into DuckDB": lambda s, d: bool(jobs(d, "started_jobs", ".parquet")),
    "load: merging into the tables": lambda s, d: bool(jobs(d, "started_jobs", ".sql") or jobs(d, "completed_jobs", ".sql")),
    "load: package loaded, run finishing": lambda s, d: bool(packages(d, "loaded")),
}


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 90) -> bool:
    """SIGKILLs `proc` as soon as `condition()` holds; False when the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if condition():
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return True
        time.sleep(0.001)
    proc.kill()
    raise AssertionError("the kill point was never reached")


def change_tickets(server, salt: int) -> None:
    """Edits that an incremental run must carry exactly: renames, a status move, lost and new child rows, new tickets."""
    tickets = server.tickets()
    for t in tickets[salt::97][:6]:
        server.update_ticket(t["id"], name=f"renamed {salt}")
    mover = next(t for t in tickets[salt:] if t["status"] == "active")
    server.update_ticket(mover["id"], status="closed", segments=[], participants=mover["participants"][:1])
    with_segments = next(t for t in tickets[salt:] if len(t["segments"]) >= 2)
    server.update_ticket(with_segments["id"], segments=with_segments["segments"][1:])
    top = max(t["id"] for t in tickets)
    for i in range(1, 4):  # a new ticket is also the newest version: created now
        server.add_ticket(dict(copy.deepcopy(tickets[salt]), id=top + i, status="active"))
        server.update_ticket(top + i, name=f"new {salt}.{i}")


def assert_exact(server, data_dir: Path) -> None:
    """Exactly the sandbox's tickets and child rows; every key once; every current version in the history."""
    assert_tickets_equal(data_dir, server.tickets())
    for table, key in (("tickets", "id"), ("tickets_history", "id, updated_at"), ("tickets__segments", "ticket_id, position"),
                       ("tickets__participants", "ticket_id, position"), ("tickets__attachments", "ticket_id, position"),
                       ("tickets__status_history", "ticket_id, position")):
        assert query(data_dir, f"SELECT count(*) - count(DISTINCT ({key})) FROM usercom.{table}") == [(0,)], table
    history = {(r[0], r[1]) for r in query(data_dir, "SELECT id, updated_at FROM usercom.tickets_history")}
    current = {(r["id"], r["updated_at"]) for r in table_rows(data_dir, "tickets", "id")}
    assert current <= history
    assert query(data_dir, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tickets_rejected'") == [(0,)]


@pytest.fixture
def loaded(sandbox, data_dir):
    """A sandbox whose tickets were loaded once, then changed: the killed run is an incremental one."""
    server = sandbox(tickets=1000, page_size=100, latency_ms=3)
    run(server, data_dir)
    change_tickets(server, salt=1)
    return server


@pytest.mark.timeout(180)
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_at_any_step_then_the_next_run_ends_exactly_like_an_uninterrupted_one(loaded, data_dir, point):
    server = loaded
    for attempt in range(3):  # a busy machine may let a run slip past a short window: try again with fresh changes
        if kill_when(start(server, data_dir), lambda point=point: KILL_POINTS[point](server, data_dir)):
            break
        change_tickets(server, salt=10 + attempt)
    else:
        raise AssertionError(f"every run ended before the kill point {point!r}")
    change_tickets(server, salt=2)  # the API moves on while the job is down
    code, out, err = cli_run(server, data_dir)
    assert code == 0, err
    assert_exact(server, data_dir)
    leftovers = [p.name for p in (data_dir / DLT / "normalize").iterdir() if p.name not in ("extracted", ".version")]
    assert leftovers == []  # the killed run's unfinished extract was cleaned up
    if point.startswith(("normalize", "load: copying", "load: merging")):
        assert "an interrupted run had left" in out  # its package was loaded first, then the API read anew
    if point == "load: merging into the tables":
        code, out, err = cli_run(server, data_dir)  # and the run after that changes nothing
        assert code == 0 and "0 tickets loaded" in out, out + err
        assert_exact(server, data_dir)


@pytest.mark.timeout(180)
def test_first_run_killed_repeatedly_at_different_steps_still_ends_exact(sandbox, data_dir):
    server = sandbox(tickets=1500, page_size=100, latency_ms=3)
    for point in ("extract: first pages read", "normalize: load package being written", "load: merging into the tables"):
        assert kill_when(start(server, data_dir), lambda point=point: KILL_POINTS[point](server, data_dir)), point
    code, out, err = cli_run(server, data_dir)
    assert code == 0, err
    assert_exact(server, data_dir)


# ----- two runs at once -----------------------------------------------------------------------------------

def wait_until_locked(data_dir: Path, seconds: float = 60) -> None:
    """Returns once a started run holds the data directory's lock (its pid written), or after `seconds`."""
    lock = data_dir / ".usercom-run.lock"
    deadline = time.monotonic() + seconds
    while not (lock.exists() and lock.read_text().startswith("pid")) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.timeout(120)
def test_second_run_on_the_same_data_dir_refuses_at_once_naming_the_first_runs_pid(sandbox, data_dir):
    server = sandbox(tickets=800, page_size=50, latency_ms=15)
    first = start(server, data_dir)
    wait_until_locked(data_dir)
    code, out, err = cli_run(server, data_dir)
    assert code == 75, err
    assert f"another usercom-tickets run (pid {first.pid}," in err and str(data_dir) in err and "did nothing" in err
    assert len(err.strip().splitlines()) == 1
    first_code, _, first_err = finish(first)
    assert first_code == 0, first_err
    assert_exact(server, data_dir)


@pytest.mark.timeout(120)
def test_transform_refuses_while_a_run_holds_the_data_dir(sandbox, data_dir):
    server = sandbox(tickets=600, page_size=50)
    assert cli_run(server, data_dir)[0] == 0
    server.options.latency_ms = 200  # the run holds the lock for several seconds: ~6 pages a listing
    server.update_ticket(server.tickets()[0]["id"], name="changed")
    first = start(server, data_dir, "--full-refresh")
    wait_until_locked(data_dir)
    transform = subprocess.run([sys.executable, "-m", "pipelines.cli", "transform", "--data-dir", str(data_dir)],
                               capture_output=True, text=True, timeout=60)
    assert transform.returncode == 75 and f"(pid {first.pid}," in transform.stderr
    assert finish(first)[0] == 0
    assert_exact(server, data_dir)


@pytest.mark.timeout(120)
def test_second_run_told_to_wait_runs_after_the_first_and_neither_corrupts_the_other(sandbox, data_dir):
    server = sandbox(tickets=800, page_size=50, latency_ms=15)
    first = start(server, data_dir)
    wait_until_locked(data_dir)
    second = start(server, data_dir, "--wait-for-lock", "100")
    (c1, _, e1), (c2, out2, e2) = finish(first), finish(second)
    assert (c1, c2) == (0, 0), e1 + e2
    assert "0 tickets loaded" in out2  # it started after the first had committed everything
    assert_exact(server, data_dir)


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(sandbox, data_dir):
    server = sandbox(tickets=200, latency_ms=5)
    assert kill_when(start(server, data_dir), lambda: server.stats["pages"] >= 1)
    assert (data_dir / ".usercom-run.lock").read_text().startswith("pid")  # the dead run's name is still there
    code, _, err = cli_run(server, data_dir)
    assert code == 0, err
    assert_exact(server, data_dir)


# ----- the destination fails ------------------------------------------------------------------------------

def file_size_limit(limit: int) -> Callable:
    """preexec_fn: the process may not write any file beyond `limit` bytes (a full disk, as write() sees it)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.timeout(180)
@pytest.mark.parametrize("room", ["16 KB: the extract files fail", "1 MB: the safety copy of the database fails"])
def test_a_full_disk_fails_the_run_clearly_and_leaves_the_previous_data_intact(loaded, data_dir, room):
    server = loaded
    limit = int(room.split()[0]) * (1024 if room.split()[1].startswith("KB") else 1024 * 1024)
    tables = ("tickets", "tickets__segments", "tickets__participants", "tickets__status_history", "tickets_history")
    before = {t: [strip(r) for r in table_rows(data_dir, t, "1, 2")] for t in tables}
    code, out, err = cli_run(server, data_dir, "--full-refresh", preexec=file_size_limit(limit))
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert code == 6 and last.startswith("error: ") and "File too large" in last, out + err
    assert {t: [strip(r) for r in table_rows(data_dir, t, "1, 2")] for t in tables} == before
    code, _, err = cli_run(server, data_dir)  # and the next run, with room again, is exact
    assert code == 0, err
    assert_exact(server, data_dir)


@pytest.mark.timeout(180)
def test_a_disk_that_fills_during_the_load_puts_the_previous_data_back_and_the_next_run_is_exact(sandbox, data_dir):
    # a small first load, then a big one: the safety copy fits, the big load's DuckDB log does not
    server = sandbox(tickets=50, page_size=100)
    run(server, data_dir)
    tables = ("tickets", "tickets__segments", "tickets__participants", "tickets__status_history", "tickets_history")
    before = {t: [strip(r) for r in table_rows(data_dir, t, "1, 2")] for t in tables}
    for ticket in generate_tickets(3000, seed=7):  # new tickets: updated after the first run
        server.add_ticket(dict(ticket, id=ticket["id"] + 100_000, updated_at=f"2024-06-15T{ticket['id'] % 24:02d}:00:00Z"))
    limit = (data_dir / "tickets.duckdb").stat().st_size + 128 * 1024
    code, out, err = cli_run(server, data_dir, preexec=file_size_limit(limit))
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert code == 6 and last.startswith("error: ") and "File too large" in last, out + err
    assert "back as it was before this run" in err
    assert {t: [strip(r) for r in table_rows(data_dir, t, "1, 2")] for t in tables} == before  # exactly as it was
    assert not (data_dir / ".tickets.duckdb.before-run").exists()
    code, out, err = cli_run(server, data_dir)  # the cursor was put back too: the next run loads every new ticket
    assert code == 0, err
    assert_exact(server, data_dir)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what", ["data directory", "DuckDB file"])
def test_a_read_only_destination_fails_the_run_clearly_and_leaves_the_previous_data_intact(loaded, data_dir, what):
    server = loaded
    before = table_rows(data_dir, "tickets", "id")
    targets = [data_dir / "tickets.duckdb"] if what == "DuckDB file" else [data_dir, *data_dir.rglob("*")]
    with read_only(targets):
        code, out, err = cli_run(server, data_dir)
    assert code != 0, out
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(data_dir) in last and ("not permitted" in last or "ermission" in last), err
    assert "nothing was run" in last if what == "data directory" else "nothing was loaded" in last
    assert table_rows(data_dir, "tickets", "id") == before
    code, _, err = cli_run(server, data_dir)
    assert code == 0, err
    assert_exact(server, data_dir)


def strip(row: dict) -> dict:
    """A row without dlt's bookkeeping columns and the time it was observed."""
    return {k: v for k, v in row.items() if not k.startswith("_dlt") and k not in ("observed_at", "valid_from")}


class read_only:
    """Makes paths unwritable for this process's children: immutable (chattr +i) as root, who ignores modes; chmod otherwise."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [p for p in paths if not p.is_symlink()]
        self.modes = {p: p.stat().st_mode for p in self.paths}

    def __enter__(self):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", *map(str, self.paths)], check=True)
        else:
            for p in sorted(self.paths, key=lambda p: -len(p.parts)):
                p.chmod(self.modes[p] & ~0o222)
        return self

    def __exit__(self, *exc_info):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, self.paths)], check=True)
        else:
            for p, mode in self.modes.items():
                p.chmod(mode)
