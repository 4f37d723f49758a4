"""The guard against mass disappearance: a complete run that did not list too many live tickets marks none, does not
count towards the two-run rule, and says so in its summary, its run-log row and its exit code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from tests.conftest import run
from tests.test_deletions import deleted_at, unlisted
from tests.test_faults_process import cli_env
from tests.test_http_contract import cli
from tests.test_run_log import runs

HELD = "warning: deletions held: this complete run did not list 180 of the 200 live tickets"


def night(server, data, *args: str):
    """One nightly `usercom-tickets run` with its marts as of just after it (a mark of this night counts in them)."""
    as_of = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return cli("run", "--data-dir", str(data), "--as-of", as_of, *args, env=cli_env(server))


def deleted_in_the_marts(data) -> tuple[int, int]:
    """Tickets in the published fct_tickets, and those of them flagged deleted."""
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*), count(*) FILTER (WHERE is_deleted) FROM fct_tickets").fetchone()


def runs_in_the_marts(data) -> list[tuple]:
    """(outcome, tickets_deleted, deletions_held) of each run in the published rpt_runs, oldest first."""
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        return con.execute("SELECT outcome, tickets_deleted, deletions_held FROM rpt_runs ORDER BY started_at").fetchall()


def test_an_api_that_lists_a_tenth_for_two_nights_marks_nothing_and_the_marts_keep_every_ticket(sandbox, tmp_path):
    server = sandbox(tickets=200, page_size=50)
    data = tmp_path / "data"
    everything = server.tickets()
    assert night(server, data, "--no-transform").returncode == 0  # the marts are first built (and checked) next night

    server.set_tickets(everything[::10])  # the API lists a tenth of the account, two nights running
    for _ in range(2):
        held = night(server, data)
        assert held.returncode == 3, held.stderr
        assert HELD in held.stdout and "--allow-mass-deletion" in held.stdout and "usercom_max_unlisted_share" in held.stdout
        assert deleted_at(data) == {} and unlisted(data) == []
        assert deleted_in_the_marts(data) == (200, 0)
        row = runs(data)[-1]
        assert (row["outcome"], row["deletions_held"], row["tickets_deleted"]) == ("ok", 180, 0)

    server.set_tickets(everything)  # all of them again
    back = night(server, data)
    assert back.returncode == 0, back.stderr
    assert "0 ticket(s) marked deleted (not listed by two complete runs in a row), 0 came back" in back.stdout
    assert deleted_at(data) == {} and unlisted(data) == [] and deleted_in_the_marts(data) == (200, 0)
    assert runs(data)[-1]["deletions_held"] == 0
    # the marts' run log carries the held deletions of each night (rpt_runs.deletions_held)
    assert runs_in_the_marts(data) == [("ok", 0, 0), ("ok", 0, 180), ("ok", 0, 180), ("ok", 0, 0)]

    # deletions that are real: let them through for the night they happen; the next complete run marks them
    server.set_tickets(everything[::10])
    allowed = night(server, data, "--allow-mass-deletion", "--no-transform")
    assert allowed.returncode == 0 and "180 ticket(s) not listed by this run" in allowed.stdout, allowed.stderr
    confirmed = night(server, data)
    assert confirmed.returncode == 0 and "180 ticket(s) marked deleted" in confirmed.stdout, confirmed.stderr
    assert len(deleted_at(data)) == 180 and deleted_in_the_marts(data) == (200, 180)


def test_a_held_run_is_not_one_of_the_two_and_a_handful_always_passes(sandbox, data_dir):
    server = sandbox(tickets=30, page_size=10)
    everything = server.tickets()
    run(server, data_dir)
    gone = everything[:9]  # 30% of a small account, but a handful: believed
    server.set_tickets(everything[9:])
    first = run(server, data_dir)
    assert (first.deletions_held, first.tickets_unlisted) == (0, 9)

    server.set_tickets(everything[9:12])  # a night listing almost nothing: held, the candidates wait as they were
    held = run(server, data_dir)
    assert (held.deletions_held, held.tickets_deleted, held.live_tickets) == (27, 0, 30)
    assert unlisted(data_dir) == [t["id"] for t in gone]

    server.set_tickets(everything[9:])  # the complete run after the one before the held night confirms them
    confirming = run(server, data_dir)
    assert (confirming.tickets_deleted, confirming.deletions_held) == (9, 0)
    assert sorted(deleted_at(data_dir)) == [t["id"] for t in gone]
