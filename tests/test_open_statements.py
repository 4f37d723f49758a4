"""Cancelling what dlt's SQL clients run (pipelines/job/open_statements.py): a statement that would run for hours,
on a real dlt client of DuckDB and of PostgreSQL, ends with the destination's cancel error once cancelled, its
transaction rolled back; after the block dlt's classes are as they were."""

from __future__ import annotations

import threading

import dlt
import pytest
from dlt.common.destination.client import RunnableLoadJob
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

from pipelines.job.open_statements import OpenStatements

# per destination: a statement of hours, and the words of the error a cancelled statement ends with
ENDLESS = {
    "duckdb": ("SELECT max(hash(range)) FROM range(10000000000000)", "INTERRUPT Error"),
    "postgres": ("SELECT pg_sleep(36000)", "canceling statement due to user request"),
}


def destination(name: str, tmp_path, request):
    if name == "duckdb":
        return dlt.destinations.duckdb(str(tmp_path / "cancel.duckdb"))
    return dlt.destinations.postgres(request.getfixturevalue("postgres").url)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(ENDLESS))
def test_a_cancelled_statement_ends_at_once_and_its_transaction_rolls_back(name, tmp_path, request):
    dataset = f"cancel_{name}_{abs(hash(str(tmp_path))) % 10**8}"
    pipeline = dlt.pipeline(f"cancel_{name}", pipelines_dir=str(tmp_path / ".dlt"),
                            destination=destination(name, tmp_path, request), dataset_name=dataset)
    endless, cancelled_words = ENDLESS[name]
    running, ended = threading.Event(), []

    def run_for_hours() -> None:
        with pipeline.sql_client() as client:
            client.create_dataset()
            try:
                with client.begin_transaction():
                    client.execute_sql("CREATE TABLE written_before AS SELECT 1 AS x")
                    running.set()
                    client.execute_sql(endless)
            except Exception as error:  # noqa: BLE001 (what the statement ended with is the assertion)
                ended.append(error)

    originals = {name: DuckDbSqlClient.__dict__[name] for name in ("open_connection", "close_connection")}
    with OpenStatements() as statements:
        worker = threading.Thread(target=run_for_hours, daemon=True)
        worker.start()
        assert running.wait(60)
        while worker.is_alive():  # as the job's signal thread does: once, then again while the block lasts
            statements.cancel()
            worker.join(0.05)

    assert len(ended) == 1 and cancelled_words in str(ended[0]), ended
    with pipeline.sql_client() as client:  # the table written before it in its transaction is gone
        assert client.execute_sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                                  f"'{dataset}' AND table_name = 'written_before'") == [(0,)]
    assert {name: DuckDbSqlClient.__dict__[name] for name in originals} == originals
    assert "run_managed" in RunnableLoadJob.__dict__ and RunnableLoadJob.run_managed.__qualname__.startswith("RunnableLoadJob")
    assert statements.cancel() == 0  # nothing kept once the block ended
