"""Stopping a run: Ctrl-C or SIGTERM to a real `python -m pipelines.cli run` against a slow sandbox. No request leaves
after the signal, the process exits 130 or 143 within the issue's 2 s, the lock is free for the next run, and the
run-log row covers the run's whole life."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.test_faults_process import cli_env, cli_run, start
from tests.test_run_log import runs

EXIT_BOUND_SECONDS = 2.0  # issue 18: exit within 2 s of the signal; measured 0.7-0.9 s here, 8-9 s before
ON_ITS_WAY_SECONDS = 0.25  # a request sent just before the signal may reach the sandbox just after it
NOISE = ("Traceback", "Exception ignored", "could not be completed", "_r_stderr", "ValueError")


def slow_sandbox(sandbox):
    """2,500 tickets in pages of 50 answered after 300 ms each (a run takes ~5 s), and each request's arrival."""
    server = sandbox(tickets=2500, page_size=50, latency_ms=300)
    arrivals: list[float] = []
    server.on_request(lambda srv, number, status, page: arrivals.append(time.monotonic()))
    return server, arrivals


def wait_for(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before the point was reached"
        time.sleep(0.005)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_extract_stops_every_request_and_exits_within_two_seconds(sandbox, data_dir, sent):
    server, arrivals = slow_sandbox(sandbox)
    process = start(server, data_dir)
    wait_for(lambda: len(arrivals) >= 12, process)  # every listing is paging
    signalled, signalled_at = time.monotonic(), datetime.now(UTC)
    process.send_signal(sent)
    _, err = process.communicate(timeout=60)
    exited, exited_at = time.monotonic(), datetime.now(UTC)

    assert process.returncode == 128 + sent, err
    print(f"{sent.name}: signal to exit {exited - signalled:.2f} s")
    assert exited - signalled < EXIT_BOUND_SECONDS
    assert [round(a - signalled, 2) for a in arrivals if a > signalled + ON_ITS_WAY_SECONDS] == []
    assert f"error: interrupted ({sent.name}); nothing of this run was committed" in err
    assert not any(word in err for word in NOISE), err
    row = runs(data_dir)[-1]
    assert row["outcome"] == "interrupted"
    assert signalled_at <= row["finished_at"] <= exited_at  # written once the listings had stopped, before the exit
    assert abs((row["finished_at"] - row["started_at"]).total_seconds() - row["seconds"]) < 0.5
    left = data_dir / ".dlt" / "usercom" / "normalize"
    assert left.is_dir()  # where dlt writes each extract
    assert not [p.name for p in left.glob("*") if p.is_dir() and len(p.name) == 16], "its unfinished extract was left"

    server.on_request(None)
    server.options.latency_ms = 0
    code, _, again = cli_run(server, data_dir)
    assert code == 0, again  # the lock was released: the next run does not wait or refuse


@pytest.mark.timeout(120)
def test_a_second_ctrl_c_exits_at_once_without_a_traceback(sandbox, data_dir):
    server, arrivals = slow_sandbox(sandbox)
    process = start(server, data_dir)
    wait_for(lambda: len(arrivals) >= 8, process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert not any(word in err for word in NOISE), err


@pytest.mark.timeout(240)
def test_ctrl_c_during_the_marts_build_says_the_load_was_committed_and_this_build_was_not(sandbox, data_dir):
    server = sandbox(tickets=300)
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir)],
                               env=cli_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # the summary is printed once the load is committed, then the marts build
        if line.startswith("data: "):
            break
    time.sleep(1.0)  # dbt is building
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    row = runs(data_dir)[-1]
    assert row["outcome"] == "ok" and row["tickets_loaded"] == 300
    assert (f"error: interrupted (SIGINT); the load was committed (run {row['run_id']}, its summary above); this build "
            "of the marts was not: readers keep the last good one") in err
    assert "nothing of this run was committed" not in err
    assert not any(word in err for word in NOISE), err


def dbt_is_running_a_model(data_dir) -> bool:
    return any("START sql" in log.read_text(errors="replace") for log in data_dir.rglob("dbt.log"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_dbt_runs_a_model_exits_within_two_seconds_and_says_the_load_was_committed(sandbox, data_dir,
                                                                                                   sent):
    server = sandbox(tickets=300)
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir)],
                               env=cli_env(server), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: dbt_is_running_a_model(data_dir), process)
    signalled = time.monotonic()
    process.send_signal(sent)
    _, err = process.communicate(timeout=60)
    exited = time.monotonic()
    print(f"{sent.name} while dbt runs a model: signal to exit {exited - signalled:.2f} s")
    assert process.returncode == 128 + sent, err
    assert exited - signalled < EXIT_BOUND_SECONDS
    row = runs(data_dir)[-1]
    assert row["outcome"] == "ok" and row["tickets_loaded"] == 300
    assert f"error: interrupted ({sent.name}); the load was committed (run {row['run_id']}" in err, err
    assert "dbt build failed" not in err and "nothing of this run was committed" not in err
    assert not any(word in err for word in NOISE), err


# The job's signal thread reads a signal as soon as it comes; the command line's handler runs once the main thread
# next executes Python: here the main thread is hashing in C (the GIL released) when SIGINT arrives, so the thread
# has stopped the requests before the handler runs. The handler must still take it as the first signal.
FIRST_SIGNAL_READ_BY_THE_JOB_FIRST = """
import hashlib, os, signal, sys, threading, time
from pipelines.job.held_signals import statements_cancelled_on_signal
from pipelines.run_setup import stop_on_signals
from pipelines.usercom.stopping import allow_requests, requests_stopped
allow_requests()
stop_on_signals()
seen = []
threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    with statements_cancelled_on_signal(seen):
        hashlib.sha256(bytes(1 << 30))
        time.sleep(30)
except KeyboardInterrupt:
    print(f"error path: requests stopped {requests_stopped()}, seen {[s.name for s in seen]}")
    sys.exit(3)
"""


@pytest.mark.timeout(120)
def test_a_first_signal_the_jobs_thread_read_before_the_handler_ran_ends_through_the_error_path():
    done = subprocess.run([sys.executable, "-c", FIRST_SIGNAL_READ_BY_THE_JOB_FIRST], capture_output=True, text=True,
                          timeout=100)
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)  # 130 with nothing said: taken for a second
    assert done.stdout.strip() == "error path: requests stopped True, seen ['SIGINT']", done.stdout
