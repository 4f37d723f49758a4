"""A signal while dlt loads: dlt finishes the jobs running (each one transaction) and starts none; the run then
either committed its load (every job had started: the job stops right after it, before the marts) or put the
previous data back, and says which; it exits 130 or 143, the lock free, and the next run ends with the tickets
exactly the API's. Before, a signal that came when dlt had nothing left to start was forgotten: a SIGTERM 30,000
tickets into a load exited 0 after 2.7 s, its row `ok`, the marts built."""

from __future__ import annotations

import glob
import signal
import time

import pytest

from tests.test_faults_process import finish, start
from tests.test_pipeline import assert_tickets_equal, table_rows
from tests.test_run_log import runs
from tests.test_stopping import NOISE, wait_for

PACKAGE = ("load", "normalized", "*")
MOMENTS = {  # where in dlt's load step the signal lands: its package queued (dlt sets the load up), a job running
    "queued": PACKAGE,
    "job running": (*PACKAGE, "started_jobs", "*"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("moment", "sent"), [("queued", signal.SIGTERM), ("job running", signal.SIGINT)])
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
    if "the load was committed" in said:  # every job had started: they ended, the job stopped after them
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
