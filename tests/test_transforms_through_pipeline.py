"""The hand-made SLA tickets through the real sandbox and pipeline give exactly the marts the metric tests pin.

tests/test_transforms.py checks every metric on raw tables written by a small stand-in; this test
proves the stand-in is faithful: the same tickets served by the sandbox and loaded by the real
pipeline (one run per moment the pipeline observed a version) build identical marts.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

import duckdb

from tests.conftest import run
from tests.test_transforms import HISTORY_VERSIONS, POLICY, TICKETS, build, write_raw_tables

MARTS_WITHOUT_LOAD_TIMES = {
    "fct_tickets": "ticket_id",
    "fct_ticket_status_intervals": "ticket_id, entered_at",
    "agg_sla_by_priority": "all",
    "agg_sla_by_agent": "all",
    "rpt_backlog_daily": "all",
    "dim_agents": "all",
    "dim_priorities": "all",
}


def marts(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {m: con.execute(f"SELECT * FROM analytics.{m} ORDER BY {order}").fetchall()
                for m, order in MARTS_WITHOUT_LOAD_TIMES.items()}


def test_hand_made_tickets_loaded_by_the_real_pipeline_build_the_same_marts(sandbox, tmp_path):
    policy = tmp_path / "sla_policy.toml"
    policy.write_text(POLICY)
    stand_in = tmp_path / "stand_in" / "tickets.duckdb"
    stand_in.parent.mkdir()
    write_raw_tables(stand_in, TICKETS, HISTORY_VERSIONS)
    build(stand_in, policy_path=policy)

    data = tmp_path / "data"
    server = sandbox(ticket_list=[])
    seen: dict[int, dict] = {}
    for _, versions in groupby(sorted(HISTORY_VERSIONS, key=lambda v: v[0]), key=lambda v: v[0]):
        seen.update({ticket["id"]: ticket for _, ticket in versions})
        server.set_tickets(list(seen.values()))  # the API as the pipeline saw it at that moment
        run(server, data, full_refresh=True)
    server.set_tickets(TICKETS)
    run(server, data, full_refresh=True)
    build(data / "tickets.duckdb", policy_path=policy)

    loaded = marts(data / "tickets.duckdb")
    assert all(loaded.values()) and len(loaded["fct_tickets"]) >= len(TICKETS) - 1  # one is created after as_of
    assert loaded == marts(stand_in)
    with duckdb.connect(str(data / "tickets.duckdb"), read_only=True) as con:
        wide = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'analytics' AND data_type = 'HUGEINT'").fetchall()
    assert wide == []  # counts are BIGINT: Parquet and BI drivers read them as integers
