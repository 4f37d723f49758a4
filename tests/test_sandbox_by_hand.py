"""The sandbox to try by hand: `usercom-tickets sandbox` prints its key and lines to paste that work, its history
is a helpdesk in steady state ending today, and a plain `run` against it gives marts that read as a helpdesk."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import mean

import duckdb
import pytest

from pipelines.job.pipeline import DUCKDB_FILE
from pipelines.sandbox import SANDBOX_API_KEY, SandboxOptions, SandboxServer, generate_tickets
from pipelines.sandbox.arguments import start_of_today
from pipelines.sandbox.generate import DEFAULT_NOW
from tests.test_http_contract import cli

OPEN = ("active", "draft")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def by_hand_sandbox():
    """`usercom-tickets sandbox` in its own process; yields its printed lines up to "Ctrl-C", then stops it."""
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "sandbox", "--tickets", "1000", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line.rstrip("\n"))
        yield lines
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()


def test_sandbox_prints_its_key_and_lines_to_paste_that_point_check_and_run_at_it(by_hand_sandbox, tmp_path):
    text = "\n".join(by_hand_sandbox)
    assert f"API key: {SANDBOX_API_KEY}" in text
    exports = dict(re.findall(r"^  export (\w+)=(\S+)$", text, re.MULTILINE))
    assert exports["SOURCES__USERCOM__API_KEY"] == SANDBOX_API_KEY
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/public/", exports["SOURCES__USERCOM__BASE_URL"])

    check = cli("check", env=exports)
    assert check.returncode == 0, check.stdout + check.stderr

    # the secrets.toml form, pasted as printed (its lines after "[sources.usercom]", unindented)
    start = by_hand_sandbox.index("  [sources.usercom]")
    (tmp_path / ".dlt").mkdir()
    secrets = tmp_path / ".dlt" / "secrets.toml"
    secrets.write_text("\n".join(line.strip() for line in by_hand_sandbox[start:start + 3]) + "\n")
    secrets.chmod(0o600)
    assert cli("check", cwd=tmp_path).returncode == 0

    # a plain run, as_of now: the marts read as a helpdesk, not as two years of neglect
    run = cli("run", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    with duckdb.connect(str(tmp_path / "data" / DUCKDB_FILE), read_only=True) as con:
        as_of, = con.execute("select as_of from analytics.rpt_helpdesk_summary").fetchone()
        open_, overdue, created_30, closed_30 = con.execute(
            "select open_tickets, overdue_tickets, created_last_30_days, closed_last_30_days "
            "from analytics.rpt_helpdesk_summary").fetchone()
    assert abs(as_of - datetime.now(UTC)) < timedelta(hours=1)
    assert 0.2 < open_ / 1000 < 0.45  # the listing's mix: a third open
    assert 0.05 < overdue / open_ < 0.5, (overdue, open_)
    # as many closed as came in, about: over 30 days (~170 tickets of 1,000), a week is too few to tell
    assert 0.7 < closed_30 / created_30 < 1.4, (created_30, closed_30)


def test_the_sandbox_history_ends_at_its_now_and_the_command_line_one_ends_today():
    later = datetime(2025, 3, 1, tzinfo=UTC)
    with SandboxServer(SandboxOptions(tickets=30, now=later)) as server:
        assert server.tickets() == generate_tickets(30, now=later)
    with SandboxServer(SandboxOptions(tickets=30)) as server:
        assert server.tickets() == generate_tickets(30, now=DEFAULT_NOW)  # what tests and benchmarks pin
    today = start_of_today()
    assert today.tzinfo is not None and today.hour == today.minute == 0 and datetime.now(UTC) - today < timedelta(days=1)


def test_generated_history_is_in_steady_state():
    tickets = generate_tickets(10_000)
    created = Counter((DEFAULT_NOW - moment(t["created_at"])).days // 7 for t in tickets)
    closed: Counter = Counter()
    open_intervals = []
    for t in tickets:
        history = t.get("status_history") or [{"entered_at": t["created_at"], "status": t["status"]}]
        since = None
        for entry in history:
            if entry["status"] in OPEN and since is None:
                since = moment(entry["entered_at"])
            elif entry["status"] not in OPEN and since is not None:
                open_intervals.append((since, moment(entry["entered_at"])))
                closed[(DEFAULT_NOW - moment(entry["entered_at"])).days // 7] += 1
                since = None
        if since is not None:
            open_intervals.append((since, DEFAULT_NOW + timedelta(seconds=1)))

    weekly = [created[w] for w in range(1, 25)]  # whole weeks: the window's first one is cut
    assert all(abs(n - mean(weekly)) < 0.2 * mean(weekly) for n in weekly), weekly
    recent = range(0, 8)
    assert all(abs(closed[w] - created[w]) < 0.25 * created[w] for w in recent), (created, closed)
    backlog = [sum(1 for start, end in open_intervals if start <= day < end)
               for day in (DEFAULT_NOW - timedelta(days=d) for d in range(0, 56, 7))]
    assert max(backlog) < 1.1 * min(backlog), backlog  # level over the last 8 weeks, no late surge
    open_now = [t for t in tickets if t["status"] in OPEN]
    overdue = sum(1 for t in open_now if t["due_date"] and moment(t["due_date"]) < DEFAULT_NOW)
    assert 0.05 < overdue / len(open_now) < 0.5
