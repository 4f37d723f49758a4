"""The run log: every run of the real pipeline against the real sandbox leaves one row in `usercom.runs`, ok, failed
or interrupted, with the figures the run counted; a failed run's row touches neither its tickets nor its cursor, and
a row that cannot be written never fails a good run."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.parquet as pq
import pytest

from pipelines.error_text import one_line
from pipelines.job import RunSummary, run_job
from pipelines.job.pipeline import make_pipeline
from pipelines.run_log import RunLog
from pipelines.runs_table import COLUMNS, RUNS_TABLE
from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.usercom.errors import UsercomConfigError
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.run.report import RunReport
from tests.conftest import query, run
from tests.test_faults_process import cli_run, start
from tests.test_pipeline import assert_tickets_equal, table_rows

STATUSES = "active,closed,archived,draft"


def runs(data_dir: Path) -> list[dict]:
    """The rows of `usercom.runs` in the data directory's DuckDB file, oldest first."""
    names = [name for name, _, _ in COLUMNS]
    rows = query(data_dir, f"SELECT {', '.join(names)} FROM usercom.{RUNS_TABLE} ORDER BY started_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


def cursor_state(data_dir: Path) -> dict:
    """What the `usercom` pipeline remembers of its listings: their cursors and version logs."""
    return make_pipeline(data_dir).state["sources"]


def assert_figures_of(row: dict, summary: RunSummary) -> None:
    listings = summary.report.listings.values()
    assert (row["run_id"], row["outcome"], row["error"]) == (summary.run_id, "ok", None)
    assert row["pages"] == sum(x.pages for x in listings) > 0
    assert row["tickets_received"] == sum(x.received for x in listings)
    assert row["tickets_loaded"] == sum(x.kept for x in listings)
    assert row["tickets_rejected"] == summary.rejected
    assert row["tickets_deleted"] == summary.tickets_deleted
    assert row["started_at"] < row["finished_at"] and row["seconds"] > 0


def test_a_good_run_writes_one_ok_row_with_the_figures_of_its_summary(sandbox, data_dir):
    server = sandbox(tickets=450, page_size=50)
    bad = server.tickets()[7]
    server.update_ticket(bad["id"], due_date="next tuesday")  # one ticket rejected, the run still ok
    first = run(server, data_dir)
    (row,) = runs(data_dir)
    assert_figures_of(row, first)
    assert (row["tickets_received"], row["tickets_loaded"], row["tickets_rejected"]) == (450, 449, 1)
    assert (row["destination"], row["statuses"], row["retries"], row["throttled"]) == ("duckdb", STATUSES, 0, 0)

    server.update_ticket(server.tickets()[0]["id"], name="changed")
    second = run(server, data_dir, statuses=["active", "closed"])  # one row per run: appended
    assert [r["run_id"] for r in runs(data_dir)] == [first.run_id, second.run_id]
    assert_figures_of(runs(data_dir)[1], second)
    assert runs(data_dir)[1]["statuses"] == "active,closed"


def test_the_parquet_destination_publishes_the_run_log_with_the_raw_tables(sandbox, data_dir):
    server = sandbox(tickets=120)
    summary = run(server, data_dir, destination="parquet")
    published = pq.read_table(data_dir / "parquet" / "usercom" / f"{RUNS_TABLE}.parquet").to_pylist()
    assert [(r["run_id"], r["destination"], r["tickets_loaded"]) for r in published] == [(summary.run_id, "parquet", 120)]


def test_retries_and_throttled_answers_count_what_the_sandbox_answered(sandbox, data_dir):
    server = sandbox(tickets=600, page_size=50, rate_limit_every=4, retry_after="0", error_rate=0.1)
    summary = run(server, data_dir, source={"max_attempts": 15})
    (row,) = runs(data_dir)
    assert_figures_of(row, summary)
    assert server.stats["rate_limited"] > 0 and server.stats["server_errors"] > 0
    assert row["throttled"] == server.stats["rate_limited"]  # every 429 the sandbox sent
    assert row["retries"] == server.stats["rate_limited"] + server.stats["server_errors"]  # each answered by a retry


def loaded_then_changed(sandbox, data_dir, **options):
    """A sandbox whose tickets were loaded once; then one ticket changes, which the next good run must load."""
    server = sandbox(tickets=600, page_size=50, **options)
    run(server, data_dir)
    server.update_ticket(next(t for t in server.tickets() if t["status"] == "closed")["id"], name="changed")
    return server


def fail_after(server, pages: int) -> None:
    """From the `pages`-th page the sandbox serves on, every answer is a 5xx: past any retry budget."""
    served = server.stats["pages"]

    def hook(srv, number, status, page_number):
        if srv.stats["pages"] - served >= pages:
            srv.options.error_rate = 1.0

    server.on_request(hook)


def test_a_failed_run_writes_a_failed_row_and_leaves_its_tickets_and_cursor_untouched(sandbox, data_dir):
    server = loaded_then_changed(sandbox, data_dir)
    tickets, cursor = table_rows(data_dir, "tickets", "id"), cursor_state(data_dir)
    served = server.stats["pages"]
    fail_after(server, pages=4)
    with pytest.raises(Exception, match="kept failing"):
        run(server, data_dir, source={"max_attempts": 3})
    failed = runs(data_dir)[-1]
    assert (failed["outcome"], failed["tickets_loaded"], failed["tickets_rejected"]) == ("failed", 0, 0)
    assert 0 < failed["pages"] <= server.stats["pages"] - served  # what it had read before the failure
    assert 0 < failed["tickets_received"] <= 50 * failed["pages"]
    assert failed["retries"] >= 2  # the failing page was tried max_attempts times
    assert "kept failing for GET http://127.0.0.1" in failed["error"] and "\n" not in failed["error"]
    assert table_rows(data_dir, "tickets", "id") == tickets  # nothing partial loaded
    assert cursor_state(data_dir) == cursor  # no cursor moved: the next run reads the change
    server.on_request(None)
    server.options.error_rate = 0.0
    run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    assert [r["outcome"] for r in runs(data_dir)] == ["ok", "failed", "ok"]


def test_a_key_revoked_mid_run_fails_it_with_a_row_that_names_the_cause_and_not_the_key(sandbox, data_dir):
    server = loaded_then_changed(sandbox, data_dir)
    tickets = table_rows(data_dir, "tickets", "id")
    served = server.stats["pages"]

    def revoke(srv, number, status, page_number):
        if srv.stats["pages"] - served >= 3:
            srv.options.api_key = "revoked-" + "0" * 56

    server.on_request(revoke)
    with pytest.raises(Exception, match="although the key was accepted"):
        run(server, data_dir, source={"max_attempts": 2, "max_total_wait_seconds": 5.0})
    failed = runs(data_dir)[-1]
    assert failed["outcome"] == "failed" and "although the key was accepted earlier in this run" in failed["error"]
    assert failed["throttled"] >= 1  # a 401 after the key had worked is taken for a throttle first
    assert all(SANDBOX_API_KEY not in str(value) for value in failed.values())
    assert table_rows(data_dir, "tickets", "id") == tickets


def test_an_api_error_that_echoes_the_key_leaves_no_key_in_the_row(scripted, data_dir):
    api = scripted()
    api.pages["/api/public/tickets/"] = (400, {"detail": f"bad request for Authorization: Token {SANDBOX_API_KEY}"})
    with pytest.raises(Exception, match="answered 400"):
        run(api, data_dir, statuses=["active"])
    (row,) = runs(data_dir)
    assert row["outcome"] == "failed" and "400" in row["error"]
    assert all(SANDBOX_API_KEY not in str(value) for value in row.values())


def test_an_error_text_loses_the_key_a_url_password_and_a_token_and_its_line_breaks():
    text = (f"failed: {SANDBOX_API_KEY} at postgresql://usercom:s3cret-pw@db:5432/x\n"
            "header Authorization: Bearer abcdefghijklmnop\n  next line")
    line = one_line(text, [SANDBOX_API_KEY])
    assert line == "failed: *** at postgresql://usercom:***@db:5432/x header Authorization: Bearer *** next line"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_writes_an_interrupted_row_and_leaves_its_tickets_and_cursor_untouched(
        sandbox, data_dir, sent):
    server = loaded_then_changed(sandbox, data_dir)
    tickets, cursor = table_rows(data_dir, "tickets", "id"), cursor_state(data_dir)
    served = server.stats["pages"]

    def slow_down(srv, number, status, page_number):  # after 4 pages the run is surely still extracting
        if srv.stats["pages"] - served >= 4:
            srv.options.latency_ms = 1000

    server.on_request(slow_down)
    process = start(server, data_dir)
    deadline = time.monotonic() + 60
    while server.stats["pages"] - served < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(sent)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 128 + sent, err
    assert f"error: interrupted ({sent.name}); nothing of this run was committed" in err
    interrupted = runs(data_dir)[-1]
    assert (interrupted["outcome"], interrupted["tickets_loaded"]) == ("interrupted", 0)
    assert interrupted["error"] == f"interrupted ({sent.name}); nothing of this run was committed"
    assert interrupted["pages"] > 0
    assert table_rows(data_dir, "tickets", "id") == tickets
    assert cursor_state(data_dir) == cursor
    server.on_request(None)
    server.options.latency_ms = 0
    code, _, err = cli_run(server, data_dir)
    assert code == 0, err
    assert_tickets_equal(data_dir, server.tickets())


def test_a_run_log_table_that_refuses_the_row_does_not_fail_a_good_run(sandbox, data_dir, caplog):
    # someone's own `runs` table in the dataset, with an id that cannot hold ours: the INSERT fails for real
    server = sandbox(tickets=200)
    run(server, data_dir)
    with duckdb.connect(str(data_dir / "tickets.duckdb")) as con:
        con.execute("ALTER TABLE usercom.runs RENAME TO runs_old")
        con.execute("CREATE TABLE usercom.runs AS SELECT 1::INTEGER AS run_id, * EXCLUDE (run_id) FROM usercom.runs_old")
    server.update_ticket(server.tickets()[0]["id"], name="loaded anyway")
    with caplog.at_level(logging.WARNING, logger="usercom.load"):
        summary = run(server, data_dir)
    assert sum(x.kept for x in summary.report.listings.values()) == 1
    assert_tickets_equal(data_dir, server.tickets())
    warned = [r.getMessage() for r in caplog.records if "could not be written" in r.getMessage()]
    assert len(warned) == 1 and "usercom.runs" in warned[0] and "the run itself is not affected" in warned[0]
    assert query(data_dir, "SELECT count(*) FROM usercom.runs") == [(1,)]  # only the old row: ours was refused


def test_a_run_refused_for_its_configuration_still_writes_its_row(data_dir):
    with pytest.raises(UsercomConfigError, match="Missing the User.com API key"):
        run_job(data_dir, transform=False, source_overrides={"base_url": "http://127.0.0.1:9/api/public/", "api_key": ""})
    (row,) = runs(data_dir)
    assert (row["outcome"], row["pages"], row["tickets_received"]) == ("failed", 0, 0)
    assert row["error"].startswith("Missing the User.com API key")


def test_a_summary_with_deleted_tickets_puts_them_in_the_row(tmp_path):
    # deleted-ticket detection sets RunSummary.tickets_deleted; the row reads it under that name
    report = RunReport(listings={"active": ListingStats("active", pages=2, received=150, kept=150)})
    summary = RunSummary(report=report, seconds=1.0, tickets_before=0, tickets_after=150, location="-", tickets_deleted=3)
    directory = tmp_path / "data"
    directory.mkdir()
    log = RunLog(make_pipeline(directory).destination, "duckdb", "usercom", ["active"])
    log.succeeded(summary)
    (row,) = runs(directory)
    assert (row["tickets_deleted"], row["tickets_received"], row["tickets_loaded"], row["pages"]) == (3, 150, 150, 2)


# ----- PostgreSQL --------------------------------------------------------------------------------------------------

def own_database(postgres, name: str) -> str:
    """A fresh database of the test's own on the suite's PostgreSQL; its dlt credentials URL."""
    postgres.sql(f"drop database if exists {name}")
    postgres.sql(f"create database {name} owner usercom")
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


def pg_rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_runs_land_on_postgres_ok_and_failed_and_a_failed_run_loads_nothing_there(postgres, sandbox, data_dir, monkeypatch):
    url = own_database(postgres, "runlog")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    server = sandbox(tickets=300, page_size=50)
    summary = run(server, data_dir, destination="postgres")
    server.update_ticket(server.tickets()[0]["id"], name="changed")
    fail_after(server, pages=2)
    with pytest.raises(Exception, match="kept failing"):
        run(server, data_dir, destination="postgres", source={"max_attempts": 2})
    rows = pg_rows(url, "select run_id, outcome, destination, statuses, pages, tickets_received, tickets_loaded, "
                        "error is null, started_at from usercom.runs order by started_at")
    listings = summary.report.listings.values()
    assert rows[0][:8] == (summary.run_id, "ok", "postgres", STATUSES, sum(x.pages for x in listings), 300, 300, True)
    assert rows[0][8].utcoffset() is not None  # timestamp with time zone
    assert [r[1:3] for r in rows[1:]] == [("failed", "postgres")] and rows[1][6] == 0
    assert pg_rows(url, "select count(*) from usercom.tickets where name = 'changed'") == [(0,)]


def test_a_postgres_role_that_may_not_write_the_run_log_does_not_fail_a_good_run(postgres, sandbox, data_dir,
                                                                                  monkeypatch, caplog):
    url = own_database(postgres, "runlog_denied")
    # the dataset is the job's, but `runs` belongs to someone else and the job's role may not write it
    postgres.sql("create schema usercom authorization usercom; create table usercom.runs (run_id text)",
                 database="runlog_denied")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    server = sandbox(tickets=200)
    with caplog.at_level(logging.WARNING, logger="usercom.load"):
        summary = run(server, data_dir, destination="postgres")
    assert pg_rows(url, "select count(*) from usercom.tickets") == [(200,)] and summary.tickets_after == 200
    warned = [r.getMessage() for r in caplog.records if "could not be written" in r.getMessage()]
    assert len(warned) == 1 and "usercom.runs" in warned[0]
    assert postgres.password not in warned[0]
    assert postgres.sql("select count(*) from usercom.runs", database="runlog_denied").strip() == "0"
