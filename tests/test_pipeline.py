"""The tickets pipeline end to end: the real sandbox on 127.0.0.1, real dlt runs, rows asserted in DuckDB/Parquet."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.summary_text import summary_lines
from pipelines.usercom.errors import UsercomConfigError
from tests.conftest import query, run, seed_tickets

LIST_TABLES = {"segments": "tickets__segments", "participants": "tickets__participants",
               "attachments": "tickets__attachments", "status_history": "tickets__status_history"}
OBJECTS = ("assigned_to", "author", "priority", "person", "company")


def ts(value: str | None) -> datetime | None:
    """Reference parse of an API timestamp, independent of the pipeline's code."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def utc(value):
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def table_rows(directory: Path, table: str, order: str) -> list[dict]:
    with duckdb.connect(str(directory / "tickets.duckdb"), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM usercom.{table} ORDER BY {order}")
        names = [d[0] for d in cursor.description]
        return [{k: utc(v) for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def expected_ticket(ticket: dict) -> dict:
    """The `tickets` row a ticket must become: scalars typed, objects flattened to parent__field."""
    row = {"id": ticket["id"], "status": ticket["status"], "name": ticket["name"], "description": ticket["description"],
           "custom_id": ticket.get("custom_id"), "created_at": ts(ticket["created_at"]),
           "updated_at": ts(ticket["updated_at"]), "due_date": ts(ticket.get("due_date"))}
    for name in OBJECTS:
        for key, value in (ticket.get(name) or {}).items():
            row[f"{name}__{key}"] = value
    for key, value in (ticket.get("attributes") or {}).items():
        row[f"attributes__{key}"] = value
    if "serialized_attributes" in ticket:
        row["serialized_attributes"] = ticket["serialized_attributes"]
    return row


def assert_tickets_equal(directory: Path, tickets: list[dict]) -> None:
    """Every field of every ticket, and every child row, is in DuckDB exactly; nothing else is."""
    rows = {r["id"]: r for r in table_rows(directory, "tickets", "id")}
    assert sorted(rows) == sorted(t["id"] for t in tickets)
    for ticket in tickets:
        expected = expected_ticket(ticket)
        actual = rows[ticket["id"]]
        assert {k: actual.get(k) for k in expected} == expected, f"ticket {ticket['id']}"
        extra = {k: v for k, v in actual.items() if k not in expected and not k.startswith("_") and v is not None}
        assert extra == {}, f"ticket {ticket['id']} has values the API did not send: {extra}"
    for field, table in LIST_TABLES.items():
        stored = table_rows(directory, table, "ticket_id, position")
        keys = _element_keys(tickets, field)
        got = [(r["ticket_id"], r["position"], {k: v for k, v in r.items() if k in keys}) for r in stored]
        want = [(t["id"], i, _element(item)) for t in sorted(tickets, key=lambda t: t["id"])
                for i, item in enumerate(t.get(field) or [])]
        assert got == want, f"child table {table}"


def _element_keys(tickets: list[dict], field: str) -> set[str]:
    return {k for t in tickets for item in (t.get(field) or []) for k in item}


def _element(item: dict) -> dict:
    return {k: ts(v) if k == "entered_at" else v for k, v in item.items()}


def test_full_load_of_all_statuses_equals_the_sandbox_tickets_field_by_field(sandbox, data_dir):
    server = sandbox(tickets=600)
    summary = run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    assert {s: x.received for s, x in summary.report.listings.items()} == {
        s: sum(t["status"] == s for t in server.tickets()) for s in ("active", "closed", "archived", "draft")}
    assert all(x.count_mismatch == 0 for x in summary.report.listings.values())
    assert summary.new_tickets == 600 and summary.rejected == 0


def test_every_request_carries_the_token_and_the_version_accept_header(sandbox, data_dir):
    server = sandbox(tickets=250)
    run(server, data_dir)
    assert server.request_log and all(e["auth_ok"] and e["accept"] == "*/*; version=2" for e in server.request_log)
    assert {e["query"].get("status") for e in server.request_log} == {"active", "closed", "archived", "draft"}


def test_seed_response_of_the_api_reference_loads_to_the_expected_rows(sandbox, data_dir):
    server = sandbox(ticket_list=seed_tickets())
    run(server, data_dir)
    assert query(data_dir, "SELECT id, status, name, created_at, due_date, assigned_to__id, assigned_to__name, "
                           "priority__id, priority__name, priority__order, author__name, person__id, company__id "
                           "FROM usercom.tickets ORDER BY id") == [
        (1, "closed", "Ticket 1", datetime(2020, 11, 18, 8, 6, 56, 871986, tzinfo=UTC),
         datetime(2020, 11, 25, tzinfo=UTC), 1, "Agent Bob", 1, "High", 1, "Agent Bob", None, None),
        (2, "active", "Ticket 2", datetime(2020, 11, 19, 8, 6, 56, 871986, tzinfo=UTC),
         datetime(2020, 11, 26, tzinfo=UTC), 2, "Agent Alice", 1, "High", 1, "Agent Bob", None, None),
    ]
    assert query(data_dir, "SELECT ticket_id, position, name, url FROM usercom.tickets__segments") == [
        (1, 0, "Closed", "/tickets/?segment=13")]
    assert_tickets_equal(data_dir, seed_tickets())
    assert query(data_dir, "SELECT data_type FROM information_schema.columns WHERE table_schema = 'usercom' "
                           "AND table_name = 'tickets' AND column_name IN ('id', 'updated_at') ORDER BY column_name") == [
        ("BIGINT",), ("TIMESTAMP WITH TIME ZONE",)]


def segments(prefix: str, count: int) -> list[dict]:
    return [{"name": f"{prefix}{i}", "url": f"/tickets/?segment={i}"} for i in range(count)]


# the run tracker keeps list lengths in one byte, and lengths of 255 and more apart
@pytest.mark.parametrize("before, after", [(2, 1), (300, 256)], ids=["short lists", "lists longer than 255"])
def test_ticket_that_moves_to_closed_mid_run_is_loaded_once_with_its_newest_state(sandbox, data_dir, before, after):
    tickets = []
    base = seed_tickets()[0]
    for i in range(1, 1001):  # 10 closed pages; the mover (id 2000) is the only active ticket
        tickets.append(dict(copy.deepcopy(base), id=i, status="closed", segments=[]))
    mover = dict(copy.deepcopy(base), id=2000, status="active", segments=segments("Active", before))
    tickets.append(mover)
    server = sandbox(ticket_list=tickets, latency_ms=15)
    moved = []

    def move_after_active_listing(srv, number, status, page):
        if status == "closed" and page == 5 and not moved:
            # the active listing (one page) is served long before closed's 5th page
            moved.append(srv.update_ticket(2000, status="closed", segments=segments("Closed", after)))

    server.on_request(move_after_active_listing)
    summary = run(server, data_dir)
    assert moved, "the sandbox hook did not run"
    assert summary.report.listings["active"].received == 1 and summary.report.listings["closed"].received == 1001
    assert query(data_dir, "SELECT count(*), max(status), max(updated_at) FROM usercom.tickets WHERE id = 2000") == [
        (1, "closed", ts(moved[0]["updated_at"]))]
    assert query(data_dir, "SELECT position, name FROM usercom.tickets__segments WHERE ticket_id = 2000 ORDER BY position") == [
        (i, f"Closed{i}") for i in range(after)]
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(1001,)]


def test_second_run_after_changes_leaves_exactly_the_new_state(sandbox, data_dir):
    server = sandbox(tickets=400)
    run(server, data_dir)
    newest = max(ts(t["updated_at"]) for t in server.tickets())
    # the cursor keeps a one-hour margin before the newest version seen: those tickets are re-read
    in_margin = sum(ts(t["updated_at"]).timestamp() >= newest.timestamp() - 3600 for t in server.tickets())
    with_segments = next(t for t in server.tickets() if len(t["segments"]) == 2)
    with_participants = next(t for t in server.tickets() if t["participants"] and t["status"] == "active")
    server.update_ticket(with_segments["id"], segments=with_segments["segments"][:1])  # lost a segment
    server.update_ticket(with_participants["id"], participants=[])  # lost every participant
    reassigned = next(t for t in server.tickets() if t["assigned_to"] and t["assigned_to"]["id"] != 3)
    server.update_ticket(reassigned["id"], assigned_to={"id": 3, "name": "Agent Carol", "avatar": None})
    reopened = next(t for t in server.tickets() if t["status"] == "closed")
    server.update_ticket(reopened["id"], status="active")
    new = dict(copy.deepcopy(server.tickets()[0]), id=99999, name="A new ticket ✨")
    server.add_ticket(new)

    summary = run(server, data_dir)
    assert summary.new_tickets == 1
    changed = {with_segments["id"], with_participants["id"], reassigned["id"], reopened["id"], 99999}
    assert sum(x.kept for x in summary.report.listings.values()) <= len(changed) + in_margin < 400
    assert_tickets_equal(data_dir, server.tickets())
    versions = query(data_dir, f"SELECT status FROM usercom.tickets_history WHERE id = {reopened['id']} ORDER BY updated_at")
    assert versions == [("closed",), ("active",)]


def test_parquet_destination_holds_exactly_the_current_state_after_reruns(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir, destination="parquet")
    target = next(t for t in server.tickets() if len(t["segments"]) == 2)
    server.update_ticket(target["id"], segments=[], status="archived")
    summary = run(server, data_dir, destination="parquet")
    folder = data_dir / "parquet" / "usercom"
    assert summary.parquet_dir == folder
    tickets = pq.read_table(folder / "tickets.parquet")
    assert tickets.num_rows == 300 and len(set(tickets.column("id").to_pylist())) == 300
    row = tickets.filter(pq_equal(tickets, "id", target["id"])).to_pylist()[0]
    assert row["status"] == "archived"
    segments = pq.read_table(folder / "tickets__segments.parquet")
    assert target["id"] not in segments.column("ticket_id").to_pylist()
    assert segments.num_rows == sum(len(t["segments"]) for t in server.tickets())
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))


def pq_equal(table, column, value):
    import pyarrow.compute as pc
    return pc.equal(table.column(column), value)


def test_rate_limits_with_retry_after_and_server_errors_are_survived(sandbox, data_dir):
    server = sandbox(tickets=500, rate_limit_every=3, retry_after="0", error_rate=0.2)
    # up to ~45% of requests fail; 15 attempts make a page's giving up a one-in-100,000 event
    summary = run(server, data_dir, source={"max_attempts": 15})
    assert server.stats["rate_limited"] > 0 and server.stats["server_errors"] > 0
    assert sum(x.retries for x in summary.report.listings.values()) >= server.stats["rate_limited"]
    assert_tickets_equal(data_dir, server.tickets())


def test_retry_after_as_http_date_is_honoured(sandbox, data_dir):
    import time
    from email.utils import formatdate

    server = sandbox(tickets=150, rate_limit_every=4, retry_after=formatdate(time.time() + 1, usegmt=True))
    started = time.monotonic()
    run(server, data_dir)
    assert server.stats["rate_limited"] >= 1
    assert time.monotonic() - started >= 0.5  # waited for the date instead of hammering
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(150,)]


def test_truncated_page_fails_the_run_and_leaves_the_previous_data_as_it_was(sandbox, data_dir):
    server = sandbox(tickets=500)
    run(server, data_dir)
    before = table_rows(data_dir, "tickets", "id")
    changed = next(t for t in server.tickets() if t["status"] == "closed")
    server.update_ticket(changed["id"], name="changed while the proxy cut pages")
    server.options.truncate_pages = {("closed", 2)}
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source={"max_attempts": 3})
    assert "not JSON" in str(failure.value) or "kept failing" in str(failure.value)
    assert table_rows(data_dir, "tickets", "id") == before
    server.options.truncate_pages = set()
    summary = run(server, data_dir)  # the cursor did not move: the change is picked up now
    assert summary.report.listings["closed"].kept >= 1
    assert query(data_dir, f"SELECT name FROM usercom.tickets WHERE id = {changed['id']}") == [
        ("changed while the proxy cut pages",)]


def test_unknown_fields_survive_as_columns_and_child_tables(sandbox, data_dir):
    ticket = seed_tickets()[0]
    ticket.update({"sla_level": "gold", "score": 4.5, "channel": {"id": 7, "kind": "chat", "meta": {"region": "eu"}},
                   "tags": ["vip", "billing"], "watchers": [{"id": 11, "role": "cc"}]})
    ticket["person"] = {"id": 5, "name": "Ann", "email": "ann@example.invalid", "phone": "+48 123"}
    server = sandbox(ticket_list=[ticket])
    run(server, data_dir)
    assert query(data_dir, "SELECT sla_level, score, channel__id, channel__kind, channel__meta__region, person__phone "
                           "FROM usercom.tickets") == [("gold", 4.5, 7, "chat", "eu", "+48 123")]
    assert query(data_dir, "SELECT ticket_id, position, value FROM usercom.tickets__tags ORDER BY position") == [
        (1, 0, "vip"), (1, 1, "billing")]
    assert query(data_dir, "SELECT ticket_id, id, role FROM usercom.tickets__watchers") == [(1, 11, "cc")]


def test_run_of_a_subset_of_statuses_deletes_nothing(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir)
    first_run_requests = len(server.request_log)
    closed = next(t for t in server.tickets() if t["status"] == "closed")
    server.delete_ticket(closed["id"])
    active = next(t for t in server.tickets() if t["status"] == "active")
    server.update_ticket(active["id"], name="renamed")
    run(server, data_dir, statuses=["active"])
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(300,)]
    assert query(data_dir, f"SELECT count(*) FROM usercom.tickets WHERE id = {closed['id']}") == [(1,)]
    assert query(data_dir, f"SELECT name FROM usercom.tickets WHERE id = {active['id']}") == [("renamed",)]
    assert {e["query"].get("status") for e in server.request_log[first_run_requests:]} == {"active"}


def test_incremental_run_with_nothing_changed_writes_nothing(sandbox, data_dir):
    server = sandbox(tickets=300)
    run(server, data_dir)
    loads = query(data_dir, "SELECT count(*) FROM usercom._dlt_loads")
    summary = run(server, data_dir)
    assert sum(x.kept for x in summary.report.listings.values()) == 0
    assert sum(x.skipped_unchanged for x in summary.report.listings.values()) == 300
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets_history") == [(300,)]
    assert query(data_dir, "SELECT count(*) FROM usercom._dlt_loads")[0][0] <= loads[0][0] + 1


def test_ticket_that_cannot_be_typed_goes_to_rejects_with_its_raw_json_and_reason(sandbox, data_dir):
    good, bad = seed_tickets()
    bad["due_date"] = "next tuesday"
    worse = dict(good, id=3, updated_at="yesterday")
    server = sandbox(ticket_list=[good, bad, worse])
    summary = run(server, data_dir)
    assert summary.rejected == 2
    assert query(data_dir, "SELECT id FROM usercom.tickets") == [(1,)]
    rejected = query(data_dir, "SELECT ticket_id, reason, raw_json FROM usercom.tickets_rejected ORDER BY ticket_id")
    assert [(r[0], r[1]) for r in rejected] == [
        ("2", "field `due_date`: next tuesday is not an ISO 8601 timestamp"),
        ("3", "field `updated_at`: yesterday is not an ISO 8601 timestamp"),
    ]
    assert '"due_date":"next tuesday"' in rejected[0][2]
    assert any("rejected" in line for line in summary_lines(summary))


def test_a_rerun_of_rejected_tickets_does_not_duplicate_them(sandbox, data_dir):
    bad = dict(seed_tickets()[1], due_date="soon")
    server = sandbox(ticket_list=[bad])
    run(server, data_dir)
    run(server, data_dir, full_refresh=True)
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets_rejected") == [(1,)]


def test_a_duckdb_memory_limit_duckdb_refuses_stops_the_run_naming_the_setting_and_loads_nothing(sandbox, data_dir,
                                                                                            monkeypatch):
    server = sandbox(tickets=60)
    run(server, data_dir)
    server.update_ticket(server.tickets()[0]["id"], name="changed")
    monkeypatch.setenv("USERCOM_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(UsercomConfigError) as failure:
        run(server, data_dir)
    assert "usercom_duckdb_memory_limit = 'lots' was refused" in str(failure.value) and "'512MB'" in str(failure.value)
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets WHERE name = 'changed'") == [(0,)]
    monkeypatch.setenv("USERCOM_DUCKDB_MEMORY_LIMIT", "64MB")  # a size it takes: the change loads
    assert run(server, data_dir).tickets_after == 60
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets WHERE name = 'changed'") == [(1,)]


def test_a_run_keeps_pandas_out_and_arrow_on_the_system_allocator(sandbox, data_dir):
    # pyarrow imports pandas (31 MB resident, 0.2-0.5 s) on its first `pa.array`, `pa.scalar` or `to_numpy`;
    # the columnar path goes through buffers instead. Arrow's mimalloc pool kept freed pages in idle threads.
    server = sandbox(tickets=300)
    # the allocator is chosen where the run starts (run_job, the command line), not on import
    script = ("import sys, pathlib\n"
              "from pipelines.job import run_job\n"
              "summary = run_job(pathlib.Path(sys.argv[1]), transform=False).summary\n"
              "import pyarrow as pa\n"
              "listings = summary.report.listings.values()\n"
              "print(sum(x.kept for x in listings), sum(x.pages_row_by_row for x in listings), 'pandas' in sys.modules, "
              "pa.default_memory_pool().backend_name)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "ARROW_"))}
    env.update(SOURCES__USERCOM__API_KEY=SANDBOX_API_KEY, SOURCES__USERCOM__BASE_URL=server.base_url)
    done = subprocess.run([sys.executable, "-c", script, str(data_dir)], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["300", "0", "False", "system"]
