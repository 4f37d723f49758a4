"""Schema drift: a field changes type between pages or between runs, a new nested object appears.

Each value is either loaded faithfully or its ticket goes to `tickets_rejected` with the reason; the
summary counts the rejects and the exit code is non-zero only with `--strict`.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.summary_text import summary_lines
from tests.conftest import query, run, seed_tickets
from tests.test_http_contract import cli

UTC = UTC


class PagedAPI:
    """A loopback API serving fixed pages by full path and query, each linking to the next."""

    def __init__(self, pages: list[list[dict]]) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                number = int(self.path.partition("page=")[2] or 1) if "page=" in self.path else 1
                results = pages[number - 1] if "status=active" in self.path else []
                more = "status=active" in self.path and number < len(pages)
                body = json.dumps({"count": sum(map(len, pages)) if "status=active" in self.path else 0,
                                   "next": f"{api.base_url}tickets/?status=active&page={number + 1}" if more else None,
                                   "previous": None, "results": results}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/public/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ticket(number: int, **changes) -> dict:
    base = copy.deepcopy(seed_tickets()[1])  # active
    base.update(id=number, updated_at=f"2024-05-0{min(number, 9)}T10:00:00.000001Z")
    base.update(changes)
    return base


@pytest.fixture
def paged():
    apis = []

    def start(pages):
        apis.append(PagedAPI(pages))
        return apis[-1]

    yield start
    for api in apis:
        api.close()


def test_fields_that_change_type_between_pages_are_loaded_faithfully_or_rejected_with_the_reason(paged, data_dir):
    first = [ticket(1, attributes={"score": 5, "plan": "gold"}), ticket(2, custom_id="A-2")]
    second = [
        ticket(12, id="12"),                                                   # id as a string
        ticket(13, priority=3),                                                # priority as a plain id
        ticket(14, participants=None, attachments=None),                       # lists as null
        ticket(15, created_at="2024-05-01T08:00:00", updated_at="2024-05-02T09:00:00,5Z"),  # no zone; a comma
        ticket(16, channel={"id": 7, "kind": "chat", "meta": {"region": "eu"}}),  # a new nested object
        ticket(17, attributes={"score": "high", "plan": None}),                # a custom attribute turns text
        ticket(18, due_date="next tuesday"),                                   # cannot be typed: rejected
        ticket(19, assigned_to="Agent Bob"),                                   # an object as text: rejected
        ticket(20, Priority={"id": 9}),                                        # dlt would fold it onto `priority`
    ]
    api = paged([first, second])
    summary = run(api, data_dir)
    assert summary.rejected == 3 and summary.report.listings["active"].received == 11
    assert query(data_dir, "SELECT id FROM usercom.tickets ORDER BY id") == [(i,) for i in (1, 2, 12, 13, 14, 15, 16, 17)]
    assert query(data_dir, "SELECT priority__id, priority__name FROM usercom.tickets WHERE id = 13") == [(3, None)]
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets__participants WHERE ticket_id = 14") == [(0,)]
    assert query(data_dir, "SELECT created_at, updated_at FROM usercom.tickets WHERE id = 15") == [
        (datetime(2024, 5, 1, 8, tzinfo=UTC), datetime(2024, 5, 2, 9, 0, 0, 500000, tzinfo=UTC))]
    assert query(data_dir, "SELECT channel__id, channel__kind, channel__meta__region FROM usercom.tickets WHERE id = 16") == [
        (7, "chat", "eu")]
    assert query(data_dir, "SELECT attributes__score, attributes__score__v_text FROM usercom.tickets WHERE id IN (1, 17) "
                           "ORDER BY id") == [(5, None), (None, "high")]
    rejected = query(data_dir, "SELECT ticket_id, reason, raw_json FROM usercom.tickets_rejected ORDER BY ticket_id")
    assert [(r[0], r[1]) for r in rejected] == [
        ("18", "field `due_date`: next tuesday is not an ISO 8601 timestamp"),
        ("19", "field `assigned_to__id`: Agent Bob is not an integer"),
        ("20", "field `Priority__id` would be stored as column `priority__id`, which another field fills"),
    ]
    assert json.loads(rejected[2][2])["Priority"] == {"id": 9}
    assert any("3 rejected" in line for line in summary_lines(summary))


def test_a_field_that_changes_type_between_runs_keeps_its_column_and_the_new_kind_gets_a_variant(sandbox, data_dir):
    tickets = [ticket(1, attributes={"score": 5}, sla=2), ticket(2, attributes={"score": 7}, sla=3)]
    server = sandbox(ticket_list=tickets)
    run(server, data_dir)
    server.update_ticket(1, attributes={"score": "high"}, sla={"level": "gold"}, tags=["a", "b"])
    server.update_ticket(2, priority="Urgent")  # a known object as a bare string: rejected, the old row stays
    summary = run(server, data_dir)
    assert summary.rejected == 1
    # an integer column that receives an object keeps the object as JSON text in a variant column
    assert query(data_dir, "SELECT id, attributes__score, attributes__score__v_text, sla, sla__v_text FROM usercom.tickets "
                           "ORDER BY id") == [(1, None, "high", None, '{"level":"gold"}'), (2, 7, None, 3, None)]
    assert query(data_dir, "SELECT value FROM usercom.tickets__tags ORDER BY position") == [("a",), ("b",)]
    assert query(data_dir, "SELECT data_type FROM information_schema.columns WHERE table_schema = 'usercom' AND "
                           "table_name = 'tickets' AND column_name = 'attributes__score'") == [("BIGINT",)]
    assert query(data_dir, "SELECT ticket_id, reason FROM usercom.tickets_rejected") == [
        ("2", "field `priority__id`: Urgent is not an integer")]


@pytest.mark.parametrize("strict, code", [(False, 0), (True, 8)])
def test_rejects_are_counted_and_fail_the_run_only_when_strict(sandbox, tmp_path, strict, code):
    server = sandbox(ticket_list=[ticket(1), ticket(2, due_date="soon"), ticket(3, created_at=17)])
    result = cli("run", "--no-transform", "--data-dir", str(tmp_path / "data"), *(["--strict"] if strict else []),
                 env={"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == code, result.stderr
    assert "1 tickets loaded" in result.stdout and "2 rejected" in result.stdout
    assert query(tmp_path / "data", "SELECT count(*) FROM usercom.tickets_rejected") == [(2,)]


def test_a_listing_that_ends_before_any_change_is_read_keeps_a_cursor_on_the_apis_clock(sandbox, data_dir):
    # The sandbox's `updated_at` clock (2024) lags its Date header (today), as a skewed API's would. A listing
    # that finished before any other emitted a ticket used to set its cursor from the wall clock (today - 1 h),
    # so every later change in that listing was skipped as "unchanged".
    server = sandbox(tickets=400, page_size=50, latency_ms=5)
    run(server, data_dir)
    closed = max(t["id"] for t in server.tickets() if t["status"] == "closed")  # on closed's last page
    server.update_ticket(closed, name="changed on a late page")
    run(server, data_dir)  # archived (2 pages) ends long before closed's last page is read
    archived = next(t for t in server.tickets() if t["status"] == "archived")
    server.update_ticket(archived["id"], name="changed in the listing that ended first")
    summary = run(server, data_dir)
    assert summary.report.listings["archived"].kept == 1
    assert query(data_dir, f"SELECT name FROM usercom.tickets WHERE id = {archived['id']}") == [
        ("changed in the listing that ended first",)]
