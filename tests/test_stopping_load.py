"""A signal while dlt loads: the statements dlt runs are cancelled (each job one transaction, rolled back), it starts
no job, and its load step stops; the run then either committed its load (every job had ended: the job stops right
after it, before the marts) or put the previous data back, and says which; it exits 130 or 143, the lock free, its
row covering its whole life, and the next run ends with the tickets exactly the API's. Before, a signal that came
when dlt had nothing left to start was forgotten (a SIGTERM 30,000 tickets into a load exited 0 after 2.7 s, its
row `ok`, the marts built), and one during a merge waited for it (3.6-7.6 s at 200,000 tickets:
benchmarks/stop_during_load.py)."""

from __future__ import annotations

import glob
import signal
import time

import psycopg2
import pytest

from tests.test_faults_process import finish, start
from tests.test_pipeline import assert_tickets_equal, table_rows
from tests.test_run_log import runs
from tests.test_stopping import NOISE, wait_for

PACKAGE = ("load", "normalized", "*")
MOMENTS = {  # where in dlt's load step the signal lands: its package queued (dlt sets the load up), a job running,
    # a merge running (the jobs copying into the staging tables have ended; a table's merge into its own runs)
    "queued": PACKAGE,
    "job running": (*PACKAGE, "started_jobs", "*"),
    "merge running": (*PACKAGE, "started_jobs", "*.sql"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("moment", "sent"), [("queued", signal.SIGTERM), ("job running", signal.SIGINT),
                                              ("merge running", signal.SIGTERM)])
def test_a_signal_while_loading_stops_the_job_and_says_what_was_committed(sandbox, data_dir, moment, sent):
    server = sandbox(tickets=20000)
    code, _, err = finish(start(server, data_dir, "--statuses", "closed"))
    assert code == 0, err
    closed_only = sorted(r["id"] for r in table_rows(data_dir, "tickets", "id"))
    # the other statuses' tickets are new to the destination
    process = start(server, data_dir)
    reached = str(data_dir.joinpath(".dlt", "usercom", *MOMENTS[moment]))
    wait_for(lambda: glob.glob(reached), process, timeout=180)
    signalled = time.monotonic()
    process.send_signal(sent)
    out, err = process.communicate(timeout=120)
    print(f"{sent.name} with the load {moment}: signal to exit {time.monotonic() - signalled:.2f} s")

    assert process.returncode == 128 + sent, out + err
    said = err.strip().splitlines()[-1]
    assert not any(word in err for word in NOISE), err
    row = runs(data_dir)[-1]
    assert abs((row["finished_at"] - row["started_at"]).total_seconds() - row["seconds"]) < 0.5
    if "the load was committed" in said:  # every job had ended: the job stopped after the load
        assert said.startswith(f"error: interrupted ({sent.name}); the load was committed (run {row['run_id']}"), said
        assert row["outcome"] == "ok"
        assert_tickets_equal(data_dir, server.tickets())
    else:  # dlt stopped between jobs: the previous data is back
        assert said == f"error: interrupted ({sent.name}); nothing of this run was committed, the previous data is intact"
        assert row["outcome"] == "interrupted"
        assert sorted(r["id"] for r in table_rows(data_dir, "tickets", "id")) == closed_only

    code, _, err = finish(start(server, data_dir))  # the lock is free
    assert code == 0, err
    assert_tickets_equal(data_dir, server.tickets())


@pytest.mark.timeout(300)
def test_a_signal_while_loading_into_postgres_cancels_the_load_and_the_next_run_loads_what_it_left(
        sandbox, data_dir, postgres, monkeypatch):
    """PostgreSQL has no safety copy: the statements running are cancelled (psycopg2's cancel), the package stays,
    and the next run loads it first (pipelines/job/resume.py), then extracts anew."""
    database = f"stop_{data_dir.parent.name[-12:].replace('-', '_')}"
    postgres.sql(f"create database {database} owner usercom")
    url = postgres.url.rsplit("/", 1)[0] + f"/{database}"
    server = sandbox(tickets=3000)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)  # the runs' environment is this one's
    process = start(server, data_dir, "--destination", "postgres")
    wait_for(lambda: glob.glob(str(data_dir.joinpath(".dlt", "usercom", *PACKAGE, "started_jobs", "*"))), process,
             timeout=180)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert not any(word in err for word in NOISE), err
    assert err.strip().splitlines()[-1] == ("error: interrupted (SIGTERM); the load stopped part-way: tables postgres "
                                            "had merged may hold this run's rows; the next run loads the rest of it first")
    assert runs_on(url)[-1] == "interrupted"

    code, _, err = finish(start(server, data_dir, "--destination", "postgres"))  # the lock is free
    assert code == 0, err
    assert "an earlier run was interrupted after extracting: loading the packages it left" in err  # resume.py
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM usercom.tickets ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == sorted(t["id"] for t in server.tickets())  # each once
    assert runs_on(url)[-2:] == ["interrupted", "ok"]


def runs_on(url: str) -> list[str]:
    """The outcomes in the run log on PostgreSQL, oldest first."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT outcome FROM usercom.runs ORDER BY started_at")
        return [row[0] for row in cursor.fetchall()]
