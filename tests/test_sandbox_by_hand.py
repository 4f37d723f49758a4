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
        breach_rates = dict(con.execute("select priority_name, breach_rate from analytics.rpt_sla_by_priority "
                                        "where tickets_created > 0").fetchall())
    assert abs(as_of - datetime.now(UTC)) < timedelta(hours=1)
    assert 0.02 < open_ / 1000 < 0.06  # Little's law: ~3.4 arrivals a day x ~10 days open, of 1,000 over 42 weeks
    assert 0.05 < overdue / open_ < 0.5, (overdue, open_)
    # as many closed as came in, about: over 30 days (~170 tickets of 1,000), a week is too few to tell
    assert 0.7 < closed_30 / created_30 < 1.4, (created_30, closed_30)
    assert all(0.05 < rate < 0.4 for rate in breach_rates.values()), breach_rates  # most tickets close in time


def test_the_sandbox_history_ends_at_its_now_and_the_command_line_one_ends_today():
    later = datetime(2025, 3, 1, tzinfo=UTC)
    with SandboxServer(SandboxOptions(tickets=30, now=later)) as server:
        assert server.tickets() == generate_tickets(30, now=later)
    with SandboxServer(SandboxOptions(tickets=30)) as server:
        assert server.tickets() == generate_tickets(30, now=DEFAULT_NOW)  # what tests and benchmarks pin
    today = start_of_today()
    assert today.tzinfo is not None and today.hour == today.minute == 0 and datetime.now(UTC) - today < timedelta(days=1)


def open_intervals(ticket: dict, until: datetime) -> list[tuple[datetime, datetime]]:
    """The ticket's open (active or draft) intervals from its status history, one still open ending at `until`."""
    intervals, since = [], None
    for entry in ticket["status_history"]:
        if entry["status"] in OPEN and since is None:
            since = moment(entry["entered_at"])
        elif entry["status"] not in OPEN and since is not None:
            intervals.append((since, moment(entry["entered_at"])))
            since = None
    return [*intervals, (since, until)] if since is not None else intervals


def test_generated_history_is_in_steady_state():
    tickets = generate_tickets(20_000)  # ~480 a week: a week's noise (~6%) well inside the 20% asked
    start = DEFAULT_NOW - timedelta(days=180)  # the window's first day, a Monday
    with_history = [t for t in tickets if "status_history" in t]
    after_now = DEFAULT_NOW + timedelta(seconds=1)
    intervals = [(t, i) for t in with_history for i in open_intervals(t, after_now)]

    # arrivals: level week by week, busier on weekdays and in working hours (UTC)
    created = [moment(t["created_at"]) for t in tickets]
    weekly = Counter((c - start).days // 7 for c in created if c >= start)
    whole_weeks = [weekly[w] for w in range(25)]  # the 26th ends at now, a Saturday
    assert all(abs(n - mean(whole_weeks)) < 0.2 * mean(whole_weeks) for n in whole_weeks), whole_weeks
    weekdays, hours = Counter(c.weekday() for c in created), Counter(c.hour for c in created)
    assert min(weekdays[d] for d in range(5)) > 2 * max(weekdays[5], weekdays[6]), weekdays
    assert min(hours[h] for h in range(9, 17)) > 3 * max(hours[h] for h in range(0, 5)), hours

    # about as many closes as arrivals every week (a reopened ticket closes twice; the closes of the tickets with a
    # history, scaled to all)
    closes = Counter((moment(e["entered_at"]) - start).days // 7 for t in with_history
                     for before, e in zip(t["status_history"], t["status_history"][1:], strict=False)
                     if before["status"] in OPEN and e["status"] not in OPEN and moment(e["entered_at"]) >= start)
    scale = len(tickets) / len(with_history)
    weekly_closes = [closes[w] * scale for w in range(25)]
    assert all(abs(n - mean(weekly_closes)) < 0.2 * mean(weekly_closes) for n in weekly_closes), weekly_closes
    assert mean(weekly_closes) == pytest.approx(mean(whole_weeks), rel=0.15)

    # the history starts 16 weeks before the window (the lead-in), every ticket of it listed: arrivals as level
    # there as in the window (none left out for having closed early), so the backlog has built up by the window's
    # first day and is level from then on, through the window to now
    lead_in_start = start - timedelta(days=112)
    assert min(created) - lead_in_start < timedelta(days=1)
    lead_in = Counter((c - lead_in_start).days // 7 for c in created if c < start)
    assert all(abs(lead_in[w] - mean(whole_weeks)) < 0.2 * mean(whole_weeks) for w in range(16)), lead_in
    backlog = [sum(1 for _, (a, b) in intervals if a <= day < b)
               for day in (start + timedelta(days=d) for d in range(0, 181, 7))]
    assert all(abs(n - mean(backlog)) < 0.2 * mean(backlog) for n in backlog), backlog  # ~570: noise of ~4% a sample

    # Little's law: open at now = arrivals a day x mean days open, the mean taken from the window's first half
    # (tickets whose lives have ended by now, nearly all) and arrivals from the whole window
    open_now = [t for t in tickets if t["status"] in OPEN]
    early = [t for t in with_history if start <= moment(t["created_at"]) < start + timedelta(days=90)]
    days_open = mean(sum((b - a).total_seconds() for a, b in open_intervals(t, after_now)) / 86400 for t in early)
    arrivals_a_day = sum(1 for c in created if c >= start) / 180
    assert len(open_now) == pytest.approx(arrivals_a_day * days_open, rel=0.15), (len(open_now), days_open)
    assert 0.02 < len(open_now) / len(tickets) < 0.06  # ~68 arrivals a day x ~10 days open, of 20,000
    overdue = sum(1 for t in open_now if t["due_date"] and moment(t["due_date"]) < DEFAULT_NOW)
    assert 0.05 < overdue / len(open_now) < 0.5


def test_generated_tickets_close_in_the_time_their_priority_allows():
    # on the clock (active: draft stops it, as the packaged policy says) to the first close, urgent fastest
    on_the_clock: dict[str, list[float]] = {}
    for t in generate_tickets(10_000):
        history = t.get("status_history")
        closing = next((i for i, e in enumerate(history or []) if e["status"] not in OPEN), None)
        if not t["priority"] or closing is None:
            continue
        active = sum((moment(b["entered_at"]) - moment(a["entered_at"])).total_seconds() / 3600
                     for a, b in zip(history[:closing], history[1:closing + 1], strict=True) if a["status"] == "active")
        on_the_clock.setdefault(t["priority"]["name"], []).append(active)
    medians = {name: sorted(hours)[len(hours) // 2] for name, hours in on_the_clock.items()}
    assert medians["Urgent"] < medians["High"] < medians["Normal"] < medians["Low"], medians
    targets = {"Urgent": 4, "High": 24, "Normal": 72, "Low": 168}  # transforms/sla_policy.toml
    for name, hours in on_the_clock.items():
        assert 0.8 < sum(1 for h in hours if h <= targets[name]) / len(hours) < 0.97, name
