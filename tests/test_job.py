"""The nightly job as a library user, an Airflow task or a Dagster asset calls it: one call, `run_job`, that loads,
logs the run and publishes the marts, with every safety net of the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow.parquet as pq

from pipelines.job import run_job
from pipelines.sandbox import SANDBOX_API_KEY
from tests.test_pipeline import assert_tickets_equal
from tests.test_run_log import runs

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


def test_one_call_loads_the_tickets_logs_the_run_and_publishes_the_marts(sandbox, tmp_path, monkeypatch):
    server = sandbox(tickets=240, page_size=50)
    # configured the dlt way, as a scheduler's environment or .dlt/secrets.toml would
    monkeypatch.setenv("SOURCES__USERCOM__API_KEY", SANDBOX_API_KEY)
    monkeypatch.setenv("SOURCES__USERCOM__BASE_URL", server.base_url)
    monkeypatch.setenv("USERCOM_DATA_DIR", str(tmp_path / "nightly"))

    result = run_job(as_of=AS_OF)

    data = tmp_path / "nightly"
    assert_tickets_equal(data, server.tickets())
    (row,) = runs(data)
    assert (row["run_id"], row["outcome"], row["tickets_loaded"]) == (result.summary.run_id, "ok", 240)
    assert result.summary.tickets_after == 240 and result.summary.report.complete_run == 1
    marts = result.marts
    assert marts is not None and marts.build.as_of == AS_OF and marts.build.tests_passed > 0
    assert marts.snapshot == data / "analytics.duckdb" and marts.marts_dir == data / "marts"
    with duckdb.connect(str(marts.snapshot), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fct_tickets").fetchall() == [(240,)]
        assert con.execute("SELECT run_id, outcome FROM rpt_runs").fetchall() == [(result.summary.run_id, "ok")]
    assert pq.read_table(marts.marts_dir / "fct_tickets.parquet").num_rows == 240
    assert not (data / ".usercom-run.lock").read_text()  # the lock was released: its holder line is gone

    server.update_ticket(server.tickets()[0]["id"], name="renamed overnight")
    again = run_job(as_of=AS_OF, transform=False)  # the next night, load only
    assert sum(x.kept for x in again.summary.report.listings.values()) == 1 and again.marts is None
    assert [r["run_id"] for r in runs(data)] == [result.summary.run_id, again.summary.run_id]
