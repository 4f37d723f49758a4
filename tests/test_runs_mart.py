"""`rpt_runs` carries the run log's `deletions_held`: a night the mass-deletion guard held shows how many live
tickets it did not believe gone, a normal night 0 (real sandbox, real `usercom-tickets run`, the published marts)."""

from __future__ import annotations

import duckdb

from tests.test_deletion_guard import night


def runs_in_the_marts(data) -> list[tuple]:
    """(outcome, tickets_deleted, deletions_held) of each run in the published rpt_runs, oldest first."""
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        return con.execute("SELECT outcome, tickets_deleted, deletions_held FROM rpt_runs ORDER BY started_at").fetchall()


def test_a_night_the_guard_held_shows_its_held_deletions_in_rpt_runs(sandbox, tmp_path):
    server = sandbox(tickets=200, page_size=50)
    data = tmp_path / "data"
    everything = server.tickets()
    assert night(server, data).returncode == 0
    server.set_tickets(everything[::10])  # the API lists a tenth of the account
    held = night(server, data)
    assert held.returncode == 3, held.stderr
    assert runs_in_the_marts(data) == [("ok", 0, 0), ("ok", 0, 180)]
