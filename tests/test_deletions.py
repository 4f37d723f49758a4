"""Deleted tickets: the real sandbox deletes (or moves) tickets between and during runs, the real pipeline marks a
ticket in `tickets.deleted_at` only once two complete runs in a row did not list it, and the rows are asserted in
DuckDB, in the Parquet snapshot, in PostgreSQL and in the marts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.parquet as pq
import pytest

from pipelines.job.pipeline import make_pipeline
from pipelines.summary_text import summary_lines
from pipelines.usercom.errors import UsercomError
from tests.conftest import query, run, seed_tickets
from tests.test_transforms import rows
from transforms.build import build_marts

MARKED = "ticket(s) marked deleted (not listed by two complete runs in a row)"


def deleted_at(directory: Path) -> dict[int, datetime]:
    """The tickets marked deleted, with their deleted_at."""
    return dict(query(directory, "SELECT id, deleted_at FROM usercom.tickets WHERE deleted_at IS NOT NULL ORDER BY id"))


def unlisted(directory: Path) -> list[int]:
    """The live tickets the last complete run did not list."""
    return [i for (i,) in query(directory, "SELECT id FROM usercom.tickets_unlisted ORDER BY id")]


def deleted_and_missed_once(sandbox, directory: Path, status: str = "active", **options):
    """A sandbox loaded by a complete run, then one ticket of `status` deleted and missed by one more complete run;
    returns the sandbox and the deleted ticket."""
    server = sandbox(**{"tickets": 300, **options})
    run(server, directory)
    gone = next(t for t in server.tickets() if t["status"] == status)
    server.delete_ticket(gone["id"])
    assert run(server, directory).tickets_unlisted == 1 and unlisted(directory) == [gone["id"]]
    return server, gone


def timed_run(server, directory: Path, **kwargs):
    """A run and the moments just before and after it."""
    before = datetime.now(UTC)
    summary = run(server, directory, **kwargs)
    return summary, before, datetime.now(UTC)


def test_a_deleted_ticket_is_marked_by_the_second_complete_run_that_does_not_list_it(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir)
    gone = next(t for t in server.tickets() if t.get("status_history"))
    server.delete_ticket(gone["id"])

    first = run(server, data_dir)
    assert deleted_at(data_dir) == {} and first.tickets_deleted == 0 and first.tickets_unlisted == 1
    assert unlisted(data_dir) == [gone["id"]]
    assert "1 ticket(s) not listed by this run: marked deleted if the next complete run does not list them either" \
        in summary_lines(first)

    second, started, ended = timed_run(server, data_dir)
    marks = deleted_at(data_dir)
    assert list(marks) == [gone["id"]] and started <= marks[gone["id"]] <= ended  # when the confirming run started
    assert (second.tickets_deleted, second.tickets_restored, second.tickets_unlisted) == (1, 0, 0)
    assert f"1 {MARKED}, 0 came back" in summary_lines(second)
    # marked, not removed: the ticket keeps its row and child rows
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(300,)]
    assert query(data_dir, f"SELECT count(*) FROM usercom.tickets__status_history WHERE ticket_id = {gone['id']}") == [
        (len(gone["status_history"]),)]
    assert unlisted(data_dir) == []

    third = run(server, data_dir)
    assert third.tickets_deleted == 0 and deleted_at(data_dir) == marks  # marked once, at the run that confirmed it


def mover_tickets() -> list[dict]:
    """600 closed tickets (6 pages), one active ticket, and the mover: closed, on the closed listing's last page."""
    base = seed_tickets()[0]
    tickets = [dict(copy.deepcopy(base), id=i, status="closed") for i in range(1, 601)]
    tickets.append(dict(copy.deepcopy(base), id=1000, status="active"))
    tickets.append(dict(copy.deepcopy(base), id=2000, status="closed"))
    return tickets


def test_a_ticket_that_moves_status_mid_run_and_is_missed_by_both_listings_is_not_marked(sandbox, data_dir):
    server = sandbox(ticket_list=mover_tickets())
    run(server, data_dir)
    moved = []

    def reopen_behind_the_active_listing(srv, number, status, page):
        # the listings wait for each other's first page, so the active listing (one page) is read by now; the
        # mover leaves the closed listing before its last page and joins the active one after its end
        if status == "closed" and page == 3 and not moved:
            moved.append(srv.update_ticket(2000, status="active"))

    server.on_request(reopen_behind_the_active_listing)
    missed = run(server, data_dir)
    server.on_request(None)
    assert moved, "the sandbox hook did not run"
    assert sum(x.received for x in missed.report.listings.values()) == 601  # 2000 was in neither listing
    assert missed.report.complete_run is not None and missed.tickets_unlisted == 1
    assert unlisted(data_dir) == [2000] and deleted_at(data_dir) == {}

    listed_again = run(server, data_dir)
    assert listed_again.tickets_deleted == 0 and deleted_at(data_dir) == {} and unlisted(data_dir) == []
    assert query(data_dir, "SELECT status FROM usercom.tickets WHERE id = 2000") == [("active",)]


def test_a_deleted_ticket_listed_again_is_live_again_changed_or_not(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir)
    same, changed = server.tickets()[20], server.tickets()[30]
    for ticket in (same, changed):
        server.delete_ticket(ticket["id"])
    run(server, data_dir)
    run(server, data_dir)
    assert sorted(deleted_at(data_dir)) == sorted([same["id"], changed["id"]])

    server.add_ticket(same)  # as it was: the incremental filter skips it as unchanged
    server.add_ticket(changed)
    server.update_ticket(changed["id"], name="back, and renamed")
    back = run(server, data_dir)

    assert deleted_at(data_dir) == {}
    assert (back.tickets_deleted, back.tickets_restored) == (0, 2)
    assert f"0 {MARKED}, 2 came back" in summary_lines(back)
    assert sum(x.kept for x in back.report.listings.values()) == 1  # only the renamed one was loaded
    assert query(data_dir, f"SELECT name FROM usercom.tickets WHERE id = {changed['id']}") == [("back, and renamed",)]


def test_a_run_of_some_statuses_marks_nothing_and_is_not_one_of_the_two(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir)
    gone = next(t for t in server.tickets() if t["status"] == "closed")
    server.delete_ticket(gone["id"])

    subset = run(server, data_dir, statuses=["active", "closed", "archived"])
    assert subset.report.complete_run is None
    assert (subset.tickets_deleted, subset.tickets_unlisted) == (0, 0) and unlisted(data_dir) == []
    assert "deletions not checked: this run did not list every status to its end" in summary_lines(subset)

    first_complete = run(server, data_dir)
    assert first_complete.tickets_unlisted == 1 and deleted_at(data_dir) == {}  # one complete run missed it, not two
    assert f"0 {MARKED}, 0 came back" in summary_lines(first_complete)  # checked, and the log says so
    assert first_complete.report.complete_run == 2  # the subset run was not counted

    second_complete = run(server, data_dir)
    assert second_complete.tickets_deleted == 1 and list(deleted_at(data_dir)) == [gone["id"]]


def test_a_subset_run_that_lists_a_candidate_takes_it_off_the_list(sandbox, data_dir):
    server, hidden = deleted_and_missed_once(sandbox, data_dir)
    server.add_ticket(hidden)
    run(server, data_dir, statuses=["active"])
    assert unlisted(data_dir) == []  # it is live: a later miss starts the count again
    server.delete_ticket(hidden["id"])
    assert run(server, data_dir).tickets_deleted == 0 and deleted_at(data_dir) == {}


def test_a_failed_run_marks_nothing_and_is_not_one_of_the_two(sandbox, data_dir):
    server, gone = deleted_and_missed_once(sandbox, data_dir, tickets=500)
    server.options.truncate_pages = {("closed", 2)}  # every other listing reads to its end
    with pytest.raises(Exception, match="not JSON|kept failing"):
        run(server, data_dir, source={"max_attempts": 3})
    assert deleted_at(data_dir) == {} and unlisted(data_dir) == [gone["id"]]

    server.options.truncate_pages = set()
    after_the_failure = run(server, data_dir)  # the complete run right after the one before the failure
    assert after_the_failure.tickets_deleted == 1 and list(deleted_at(data_dir)) == [gone["id"]]


def test_a_check_lost_after_its_load_leaves_no_evidence_for_the_next_run(sandbox, data_dir):
    server, gone = deleted_and_missed_once(sandbox, data_dir)
    database = data_dir / "tickets.duckdb"
    with duckdb.connect(str(database)) as con:  # the candidates readable, not writable: the next check fails at its end
        con.execute("ALTER TABLE usercom.tickets_unlisted RENAME TO tickets_unlisted_kept")
        con.execute("CREATE VIEW usercom.tickets_unlisted AS SELECT * FROM usercom.tickets_unlisted_kept")

    with pytest.raises(UsercomError, match="the tickets were loaded, but checking for deleted tickets failed"):
        run(server, data_dir)
    assert deleted_at(data_dir) == {}  # the mark was rolled back with the rest of the check

    with duckdb.connect(str(database)) as con:
        con.execute("DROP VIEW usercom.tickets_unlisted")
        con.execute("ALTER TABLE usercom.tickets_unlisted_kept RENAME TO tickets_unlisted")
    # the run before did not list it either, but its check was lost: these candidates are two complete runs old
    fresh = run(server, data_dir)
    assert fresh.tickets_deleted == 0 and deleted_at(data_dir) == {} and unlisted(data_dir) == [gone["id"]]
    assert run(server, data_dir).tickets_deleted == 1 and list(deleted_at(data_dir)) == [gone["id"]]


def test_a_run_that_reads_every_ticket_in_one_listing_is_complete(sandbox, data_dir):
    server, gone = deleted_and_missed_once(sandbox, data_dir, ignore_status_filter=True)
    second = run(server, data_dir)
    assert second.report.filter_ignored is not None and second.report.complete_run == 3
    assert second.tickets_deleted == 1 and list(deleted_at(data_dir)) == [gone["id"]]


def test_a_database_loaded_before_deletions_existed_gets_the_column_and_the_table(sandbox, data_dir):
    server = sandbox(tickets=200)
    run(server, data_dir)
    with duckdb.connect(str(data_dir / "tickets.duckdb")) as con:
        con.execute("ALTER TABLE usercom.tickets DROP COLUMN deleted_at")
        con.execute("DROP TABLE usercom.tickets_unlisted")
    gone = server.tickets()[3]
    server.delete_ticket(gone["id"])

    nothing_changed = run(server, data_dir)  # no ticket loaded: dlt alone would not add the column
    assert sum(x.kept for x in nothing_changed.report.listings.values()) == 0
    assert query(data_dir, "SELECT data_type FROM information_schema.columns WHERE table_schema = 'usercom' "
                           "AND table_name = 'tickets' AND column_name = 'deleted_at'") == [("TIMESTAMP WITH TIME ZONE",)]
    assert unlisted(data_dir) == [gone["id"]]
    assert run(server, data_dir).tickets_deleted == 1 and list(deleted_at(data_dir)) == [gone["id"]]


def test_the_parquet_snapshot_carries_the_marks(sandbox, data_dir):
    server = sandbox(tickets=200)
    run(server, data_dir, destination="parquet")
    gone = server.tickets()[40]
    server.delete_ticket(gone["id"])
    run(server, data_dir, destination="parquet")
    summary = run(server, data_dir, destination="parquet")
    tickets = pq.read_table(summary.parquet_dir / "tickets.parquet", columns=["id", "deleted_at"]).to_pylist()
    assert len(tickets) == 200
    assert [t["id"] for t in tickets if t["deleted_at"] is not None] == [gone["id"]]
    assert pq.read_table(summary.parquet_dir / "tickets_unlisted.parquet").num_rows == 0


@pytest.fixture
def postgres_database(postgres, monkeypatch):
    """A database of its own on the suite's PostgreSQL, set as the pipeline's postgres destination."""
    name = f"usercom_deletions_{datetime.now(UTC):%H%M%S%f}"
    postgres.sql(f"create database {name} owner usercom")
    url = postgres.url.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    return url


def test_deletions_are_marked_and_lifted_on_postgres(sandbox, tmp_path, postgres_database):
    def marks() -> dict[int, datetime]:
        with psycopg2.connect(postgres_database) as connection, connection.cursor() as cursor:
            cursor.execute("select id, deleted_at from usercom.tickets where deleted_at is not null order by id")
            return dict(cursor.fetchall())

    server = sandbox(tickets=300)
    directory = tmp_path / "data"
    run(server, directory, destination="postgres")
    gone, back = server.tickets()[10], server.tickets()[11]
    for ticket in (gone, back):
        server.delete_ticket(ticket["id"])
    assert run(server, directory, destination="postgres").tickets_unlisted == 2 and marks() == {}
    confirming, started, ended = timed_run(server, directory, destination="postgres")
    assert confirming.tickets_deleted == 2 and sorted(marks()) == sorted([gone["id"], back["id"]])
    assert all(started <= at <= ended for at in marks().values())

    server.add_ticket(back)  # unchanged: skipped by the incremental filter, unmarked by the check
    returned = run(server, directory, destination="postgres")
    assert returned.tickets_restored == 1 and list(marks()) == [gone["id"]]


def test_a_deleted_ticket_leaves_the_backlog_from_its_deletion_on_and_is_flagged_in_fct_tickets(sandbox, data_dir):
    server, gone = deleted_and_missed_once(sandbox, data_dir, tickets=150)
    run(server, data_dir)
    [(marked_at, priority)] = query(data_dir, f"SELECT deleted_at, coalesce(priority__id, -1) FROM usercom.tickets "
                                              f"WHERE id = {gone['id']}")

    build_marts(make_pipeline(data_dir))  # as of now, after the deletion
    db = data_dir / "tickets.duckdb"
    [ticket] = rows(db, f"select * from analytics.fct_tickets where ticket_id = {gone['id']}")
    assert (ticket["is_deleted"], ticket["deleted_at"], ticket["is_open"]) == (True, marked_at, True)
    assert rows(db, "select count(*) as n from analytics.fct_tickets where is_deleted")[0]["n"] == 1
    backlog = {r["day"]: r for r in rows(db, f"select * from analytics.rpt_backlog_daily where priority_id = {priority}")}
    deletion_day = marked_at.astimezone(UTC).date()
    day_before = max(d for d in backlog if d < deletion_day)
    assert backlog[deletion_day]["deleted_tickets"] == 1
    assert backlog[deletion_day]["open_tickets"] == backlog[day_before]["open_tickets"] - 1  # nothing else moved since 2024
    live_open = rows(db, f"select count(*) as n from analytics.fct_tickets where priority_id = {priority} "
                         "and is_open and not is_deleted")[0]["n"]
    assert backlog[max(backlog)]["open_tickets"] == live_open
    weekly = rows(db, f"select sum(tickets_created) as n from analytics.agg_sla_by_priority where priority_id = {priority}")
    assert weekly[0]["n"] == rows(db, f"select count(*) as n from analytics.fct_tickets where priority_id = {priority} "
                                      "and not is_deleted")[0]["n"]
