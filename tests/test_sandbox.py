"""The User.com sandbox: a real HTTP server on 127.0.0.1, exercised over real sockets."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests

from pipelines.sandbox import SANDBOX_API_KEY, SandboxOptions, SandboxServer, generate_tickets

REPO = Path(__file__).resolve().parents[1]
SEED_FIXTURE = REPO / "tests" / "fixtures" / "tickets_seed_response.json"  # the API reference's example listing
API_FIELDS = [
    "id", "status", "name", "description", "created_at", "updated_at", "due_date", "assigned_to",
    "person", "company", "priority", "participants", "segments", "attachments", "author",
]
STATUSES = ("active", "closed", "archived", "draft")
ISO_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ISO_MIDNIGHT = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00Z$")


# ----- fixtures ------------------------------------------------------------------------
@pytest.fixture
def make_sandbox(sandbox):
    """Start sandboxes with the given options (the shared `sandbox` fixture, under this file's name)."""
    return sandbox


@pytest.fixture
def api():
    """A requests.Session that authenticates like the pipeline does."""
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Token {SANDBOX_API_KEY}", "Accept": "*/*; version=2"})
        yield session


def tickets_url(server: SandboxServer, status: str | None = None) -> str:
    """URL of the first page of a listing."""
    return server.base_url + "tickets/" + (f"?status={status}" if status else "")


def fetch_all(api: requests.Session, url: str) -> tuple[list[dict], list[dict]]:
    """Follow `next` from `url`; return (all results, every page's envelope)."""
    results, pages = [], []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        results.extend(page["results"])
        url = page["next"]
    return results, pages


def ticket(ticket_id: int, status: str, **extra) -> dict:
    """A minimal hand-made ticket with a status history."""
    stamp = f"2024-01-01T00:00:{ticket_id % 60:02d}.000000Z"
    return {
        "id": ticket_id, "status": status, "name": f"T{ticket_id}", "description": "",
        "created_at": stamp, "updated_at": stamp, "due_date": None, "assigned_to": None,
        "person": None, "company": None, "priority": None, "participants": [], "segments": [],
        "attachments": None, "author": None,
        "status_history": [{"entered_at": stamp, "status": status}], **extra,
    }


# ----- paging --------------------------------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
def test_paging_a_status_follows_next_to_collect_exactly_its_tickets_without_duplicates(make_sandbox, api, status):
    server = make_sandbox(tickets=1234, page_size=50)
    results, _ = fetch_all(api, tickets_url(server, status))
    ids = [t["id"] for t in results]
    expected = [t["id"] for t in server.tickets() if t["status"] == status]
    assert len(ids) == len(set(ids))
    assert ids == expected  # id ascending, nothing missing, nothing extra
    assert all(t["status"] == status for t in results)


def test_unfiltered_listing_returns_every_ticket_in_id_order(make_sandbox, api):
    server = make_sandbox(tickets=345, page_size=100)
    results, pages = fetch_all(api, tickets_url(server))
    assert results == server.tickets()
    assert all(set(page) == {"count", "next", "previous", "results"} for page in pages)
    assert [len(p["results"]) for p in pages] == [100, 100, 100, 45]


def test_count_matches_the_number_of_tickets_in_the_filter(make_sandbox, api):
    server = make_sandbox(tickets=777, page_size=100)
    everything = server.tickets()
    for status in (None, *STATUSES):
        _, pages = fetch_all(api, tickets_url(server, status))
        expected = sum(1 for t in everything if status is None or t["status"] == status)
        assert {p["count"] for p in pages} == {expected}


def test_next_keeps_the_filter_and_is_absolute_on_the_same_host(make_sandbox, api):
    server = make_sandbox(tickets=500, page_size=20)
    _, pages = fetch_all(api, tickets_url(server, "closed"))
    base = urlsplit(server.base_url)
    assert len(pages) > 2
    for page in pages[:-1]:
        link = urlsplit(page["next"])
        assert (link.scheme, link.netloc, link.path) == ("http", base.netloc, "/api/public/tickets/")
        query = parse_qs(link.query)
        assert query["status"] == ["closed"]
        assert set(query) == {"cursor", "status"}
    assert pages[-1]["next"] is None
    assert pages[0]["previous"] is None


def test_next_keeps_a_renamed_status_param(make_sandbox, api):
    server = make_sandbox(tickets=300, page_size=20, status_param="state")
    results, pages = fetch_all(api, server.base_url + "tickets/?state=closed")
    assert parse_qs(urlsplit(pages[0]["next"]).query)["state"] == ["closed"]
    assert {t["status"] for t in results} == {"closed"}


def test_previous_leads_back_to_the_page_before(make_sandbox, api):
    server = make_sandbox(tickets=400, page_size=30)
    first = api.get(tickets_url(server, "closed")).json()
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()
    assert back["results"] == first["results"]
    assert back["previous"] is None
    assert back["next"] == first["next"]


def test_a_listing_with_no_tickets_is_one_empty_page(make_sandbox, api):
    server = make_sandbox(ticket_list=[ticket(1, "active")])
    page = api.get(tickets_url(server, "draft")).json()
    assert page == {"count": 0, "next": None, "previous": None, "results": []}


# ----- errors --------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "Token wrong-key", f"Bearer {SANDBOX_API_KEY}", SANDBOX_API_KEY])
def test_bad_or_missing_key_is_401_and_the_key_never_appears_in_request_log(make_sandbox, authorization):
    server = make_sandbox(tickets=10)
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(tickets_url(server), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    # a good request, and one that leaks the key into the query string
    good = {"Authorization": f"Token {SANDBOX_API_KEY}"}
    assert requests.get(tickets_url(server), headers=good).status_code == 200
    requests.get(tickets_url(server) + f"?api_key={SANDBOX_API_KEY}", headers=good)
    log = repr(server.request_log) + repr(server.stats)
    assert SANDBOX_API_KEY not in log
    assert "wrong-key" not in log and "Token" not in log and "Bearer" not in log
    assert [e["auth_ok"] for e in server.request_log] == [False, True, True]
    assert server.request_log[0]["authorization_present"] is (authorization is not None)
    assert server.request_log[0]["status_code"] == 401


def test_request_log_records_path_query_status_and_accept(make_sandbox, api):
    server = make_sandbox(tickets=10)
    api.get(tickets_url(server, "active"))
    assert server.request_log == [{
        "path": "/api/public/tickets/", "query": {"status": "active"}, "status_code": 200,
        "accept": "*/*; version=2", "auth_ok": True, "authorization_present": True,
    }]


@pytest.mark.parametrize("path", ["tickets", "ticket/", "tickets/1/", "../../", "users/"])
def test_unknown_path_is_404(make_sandbox, api, path):
    server = make_sandbox(tickets=10)
    response = api.get(server.base_url + path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_tickets_path_without_trailing_slash_is_404(make_sandbox, api):
    server = make_sandbox(tickets=10)
    assert api.get(server.base_url + "tickets?status=active").status_code == 404


@pytest.mark.parametrize("query", ["status=open", "status=", "status=ACTIVE"])
def test_unknown_status_is_400(make_sandbox, api, query):
    server = make_sandbox(tickets=10)
    response = api.get(server.base_url + "tickets/?" + query)
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "%00", "eyJ4IjoxfQ", "eyJkIjoiYSIsImlkIjotMSwicCI6Mn0", "eyJkIjoiYSIsImlkIjoxLCJwIjowfQ"],
)
def test_invalid_cursor_is_400(make_sandbox, api, cursor):
    server = make_sandbox(tickets=10)
    response = api.get(server.base_url + "tickets/?cursor=" + cursor)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid cursor"}


def test_other_methods_are_405(make_sandbox, api):
    server = make_sandbox(tickets=10)
    response = api.post(tickets_url(server), json={"name": "x"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert api.get(tickets_url(server)).status_code == 200  # the session still works


def test_delete_with_the_key_takes_a_ticket_out_of_every_listing(make_sandbox, api):
    server = make_sandbox(ticket_list=[ticket(i, "active" if i <= 5 else "closed") for i in range(1, 11)])
    deleted = api.delete(server.base_url + "tickets/3/")
    assert (deleted.status_code, deleted.content, "Content-Length" in deleted.headers) == (204, b"", False)
    assert [t["id"] for t in fetch_all(api, tickets_url(server))[0]] == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert [t["id"] for t in fetch_all(api, tickets_url(server, "active"))[0]] == [1, 2, 4, 5]
    assert api.delete(server.base_url + "tickets/3/").status_code == 404
    assert requests.delete(server.base_url + "tickets/4/").status_code == 401
    assert api.delete(tickets_url(server)).status_code == 405
    assert len(server.tickets()) == 9 and server.request_log[-1]["method"] == "DELETE"


# ----- knobs ---------------------------------------------------------------------------
def test_every_nth_request_is_429_with_retry_after(make_sandbox, api):
    server = make_sandbox(tickets=10, rate_limit_every=3, retry_after="2")
    codes = [api.get(tickets_url(server)) for _ in range(7)]
    assert [r.status_code for r in codes] == [200, 200, 429, 200, 200, 429, 200]
    assert codes[2].headers["Retry-After"] == "2"
    assert server.stats["rate_limited"] == 2
    server.options.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"
    server.options.rate_limit_every = 1
    assert api.get(tickets_url(server)).headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_rate_limit_comes_before_auth(make_sandbox):
    server = make_sandbox(tickets=10, rate_limit_every=1)
    assert requests.get(tickets_url(server)).status_code == 429


def test_error_rate_produces_5xx_in_a_deterministic_sequence(make_sandbox, api):
    def codes(server):
        return [api.get(tickets_url(server)).status_code for _ in range(120)]

    first = codes(make_sandbox(tickets=10, error_rate=0.4, seed=7))
    again = codes(make_sandbox(tickets=10, error_rate=0.4, seed=7))
    assert first == again
    errors = [c for c in first if c != 200]
    assert set(errors) <= {500, 502, 503, 504} and len(set(errors)) >= 3
    assert 20 < len(errors) < 80
    assert set(first) - set(errors) == {200}


def test_gateway_errors_are_html_and_500_is_json(make_sandbox, api):
    server = make_sandbox(tickets=10, error_rate=1.0)
    seen = {}
    for _ in range(60):
        response = api.get(tickets_url(server))
        seen[response.status_code] = response.headers["Content-Type"]
    assert seen[500] == "application/json"
    assert all(seen[c] == "text/html" for c in seen if c != 500)
    assert server.stats["server_errors"] == 60


def test_truncated_page_body_is_invalid_json_with_status_200(make_sandbox, api):
    server = make_sandbox(tickets=300, page_size=20, truncate_pages={("closed", 2)})
    first = api.get(tickets_url(server, "closed"))
    second = api.get(first.json()["next"])
    assert second.status_code == 200
    assert int(second.headers["Content-Length"]) == len(second.content)
    with pytest.raises(ValueError):
        orjson.loads(second.content)
    assert api.get(tickets_url(server, "archived")).json()["next"]  # other listings untouched
    assert server.stats["truncated"] == 1
    server.options.truncate_pages = {(None, 1)}  # page 1 of every listing
    for status in (None, "closed"):
        with pytest.raises(ValueError):
            orjson.loads(api.get(tickets_url(server, status)).content)


def test_latency_delays_each_answer(make_sandbox, api):
    server = make_sandbox(tickets=10, latency_ms=80)
    started = time.perf_counter()
    api.get(tickets_url(server))
    assert time.perf_counter() - started >= 0.08


def test_on_request_hook_moving_a_ticket_yields_it_in_two_lists(make_sandbox, api):
    server = make_sandbox(ticket_list=[ticket(i, "active" if i <= 30 else "closed") for i in range(1, 61)], page_size=10)
    calls = []

    def close_ticket_3(srv, number, status, page_number):
        calls.append((number, status, page_number))
        if (status, page_number) == ("active", 2):
            srv.update_ticket(3, status="closed")

    server.on_request(close_ticket_3)
    active, _ = fetch_all(api, tickets_url(server, "active"))
    closed, _ = fetch_all(api, tickets_url(server, "closed"))
    assert [t["id"] for t in active].count(3) == 1
    assert [t["id"] for t in closed].count(3) == 1
    moved = next(t for t in closed if t["id"] == 3)
    assert moved["status"] == "closed"
    assert calls[:3] == [(1, "active", 1), (2, "active", 2), (3, "active", 3)]
    assert len(active) == 30  # count was taken before the move on page 1 ...
    assert len(closed) == 31  # ... and the closed listing has the extra ticket


def test_a_ticket_moved_behind_the_cursor_is_missed_like_the_real_api(make_sandbox, api):
    server = make_sandbox(ticket_list=[ticket(i, "closed" if i <= 30 else "active") for i in range(1, 61)], page_size=10)

    def reopen_ticket_5(srv, number, status, page_number):
        if (status, page_number) == ("active", 2):
            srv.update_ticket(5, status="active")

    server.on_request(reopen_ticket_5)
    active, _ = fetch_all(api, tickets_url(server, "active"))  # 5 joins active behind the cursor ...
    closed, _ = fetch_all(api, tickets_url(server, "closed"))  # ... and has left closed
    seen = [t["id"] for t in active + closed]
    assert 5 not in seen
    assert len(seen) == len(set(seen)) == 59
    assert {t["id"]: t for t in server.tickets()}[5]["status"] == "active"


def test_a_hook_that_raises_answers_500_and_is_recorded(make_sandbox, api):
    server = make_sandbox(tickets=10)
    server.on_request(lambda *args: 1 / 0)
    assert api.get(tickets_url(server)).status_code == 500
    assert isinstance(server.hook_errors[0], ZeroDivisionError)


# ----- data changes --------------------------------------------------------------------
def test_update_ticket_bumps_updated_at_and_appends_status_history(make_sandbox, api):
    server = make_sandbox(tickets=200)
    before = api.get(tickets_url(server)).json()["results"]  # caches page 1
    target = next(t for t in server.tickets()[:100] if t["status"] != "closed" and "status_history" in t)
    newest = max(t["updated_at"] for t in server.tickets())
    updated = server.update_ticket(target["id"], status="closed", name="Renamed")
    assert updated["updated_at"] > newest
    assert ISO_US.match(updated["updated_at"])
    assert updated["status_history"][:-1] == target["status_history"]
    assert updated["status_history"][-1] == {"entered_at": updated["updated_at"], "status": "closed"}
    served = {t["id"]: t for t in fetch_all(api, tickets_url(server))[0]}
    assert served[target["id"]] == updated  # the page cache was dropped
    assert served[target["id"]]["name"] == "Renamed"
    assert before != list(served.values())[:100]
    second = server.update_ticket(target["id"], name="Again")
    assert second["updated_at"] > updated["updated_at"]
    assert len(second["status_history"]) == len(updated["status_history"])  # no status change


def test_update_ticket_keeps_an_explicit_updated_at_and_skips_missing_history(make_sandbox):
    plain = ticket(1, "active")
    del plain["status_history"]
    server = make_sandbox(ticket_list=[plain])
    updated = server.update_ticket(1, status="closed", updated_at="2024-02-02T02:02:02.000002Z")
    assert updated["updated_at"] == "2024-02-02T02:02:02.000002Z"
    assert "status_history" not in updated


def test_set_add_and_delete_tickets_change_what_is_listed(make_sandbox, api):
    server = make_sandbox(tickets=50)
    server.set_tickets([ticket(i, "draft") for i in (5, 1, 3)])
    assert [t["id"] for t in fetch_all(api, tickets_url(server))[0]] == [1, 3, 5]
    server.add_ticket(ticket(2, "draft"))
    server.delete_ticket(3)
    page = api.get(tickets_url(server, "draft")).json()
    assert page["count"] == 3 and [t["id"] for t in page["results"]] == [1, 2, 5]
    with pytest.raises(ValueError):
        server.add_ticket(ticket(2, "active"))
    with pytest.raises(KeyError):
        server.delete_ticket(3)


def test_tickets_is_a_deep_copy(make_sandbox, api):
    server = make_sandbox(tickets=20)
    copy = server.tickets()
    copy[0]["status_history"] = []
    copy[0]["name"] = "changed"
    assert server.tickets()[0]["name"] != "changed"
    assert api.get(tickets_url(server)).json()["results"][0]["name"] != "changed"


# ----- HTTP behaviour ------------------------------------------------------------------
def test_connections_are_kept_alive(make_sandbox):
    server = make_sandbox(tickets=300)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    headers = {"Authorization": f"Token {SANDBOX_API_KEY}"}
    conn.request("GET", "/api/public/tickets/", headers=headers)
    first = conn.getresponse()
    assert first.version == 11 and json.loads(first.read())["count"] == 300
    sock = conn.sock
    conn.request("GET", "/api/public/tickets/?status=active", headers=headers)
    assert conn.getresponse().read()
    assert conn.sock is sock
    conn.close()


def test_server_survives_clients_that_hang_up_mid_response(make_sandbox, api, capfd):
    server = make_sandbox(tickets=2000, page_size=1000)
    request = (
        f"GET /api/public/tickets/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {SANDBOX_API_KEY}\r\n\r\n"
    ).encode()
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(request)
            sock.recv(100)
    time.sleep(0.2)
    assert api.get(tickets_url(server)).status_code == 200
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_malformed_requests_get_400_and_nothing_is_printed(make_sandbox, capfd):
    server = make_sandbox(tickets=5)
    for raw in (b"NONSENSE\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(raw)
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert capfd.readouterr() == ("", "")


def test_stop_closes_idle_keep_alive_connections():
    server = SandboxServer(SandboxOptions(tickets=5)).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/api/public/tickets/", headers={"Authorization": f"Token {SANDBOX_API_KEY}"})
    conn.getresponse().read()
    server.stop()
    assert conn.sock.recv(1) == b""
    server.stop()  # twice is fine


def test_sandbox_binds_to_loopback_only():
    with pytest.raises(ValueError):
        SandboxServer(SandboxOptions(tickets=1), host="0.0.0.0")
    with SandboxServer(SandboxOptions(tickets=1)) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/api/public/")


def test_serving_every_page_of_a_large_sandbox_in_every_listing(make_sandbox, api):
    """Every listing of 30,000 tickets pages through to its end; speed is measured by the bench, not here."""
    server = make_sandbox(tickets=30_000)
    pages = sum(len(fetch_all(api, tickets_url(server, s))[1]) for s in (None, *STATUSES))
    assert pages >= 600


def test_pages_are_rendered_once_and_cached_until_the_data_changes(make_sandbox):
    server = make_sandbox(tickets=500)
    store, prefix = server._store, server.base_url + "tickets/?cursor="
    first = store.page("closed", None, 100, prefix, "&status=closed")
    assert store.page("closed", None, 100, prefix, "&status=closed") is first
    server.update_ticket(1, name="changed")
    assert store.page("closed", None, 100, prefix, "&status=closed") is not first


def test_pages_past_the_cache_budget_are_still_served_right(make_sandbox, api, monkeypatch):
    from pipelines.sandbox import store

    monkeypatch.setattr(store, "CACHE_MAX_BYTES", 300_000)  # two or so of the twenty pages
    server = make_sandbox(tickets=2000)
    results, pages = fetch_all(api, tickets_url(server))
    assert results == server.tickets() and len(pages) == 20
    assert fetch_all(api, tickets_url(server))[0] == results
    assert 0 < server._store._cache_bytes <= 300_000


def test_command_line_serves_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.sandbox", "--tickets", "25", "--port", "0", "--seed", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(
            r"User\.com sandbox on (http://127\.0\.0\.1:\d+/api/public/) \(25 tickets, key: sandbox key, "
            r"bound to 127\.0\.0\.1 only\)\n",
            line,
        )
        assert match, line
        page = requests.get(match[1] + "tickets/", headers={"Authorization": f"Token {SANDBOX_API_KEY}"}).json()
        assert page["count"] == 25
        assert page["results"] == generate_tickets(25, seed=3)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert SANDBOX_API_KEY not in process.stdout.read() + process.stderr.read()
    finally:
        process.kill()


# ----- generated data ------------------------------------------------------------------
def test_generation_is_deterministic_for_a_seed():
    assert generate_tickets(300, seed=5) == generate_tickets(300, seed=5)
    assert generate_tickets(300, seed=5) != generate_tickets(300, seed=6)
    assert generate_tickets(50, seed=5) == generate_tickets(300, seed=5)[:50]
    assert [t["id"] for t in generate_tickets(300)] == list(range(1, 301))


def test_generation_never_reads_the_clock():
    default = generate_tickets(200)
    assert default == generate_tickets(200, now=datetime(2024, 6, 1, tzinfo=UTC))
    later = generate_tickets(200, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert max(t["updated_at"] for t in later) <= "2025-01-01T00:00:00.000000Z"
    assert min(t["created_at"] for t in later) >= "2024-03-15"  # the window (180 days) and its lead-in (112) before 2025-01-01


@pytest.fixture(scope="module")
def generated():
    """Ten thousand generated tickets, shared by the read-only checks below."""
    return generate_tickets(10_000)


def test_generated_tickets_have_the_api_fields_in_order(generated):
    optional = {"status_history", "custom_id", "attributes", "serialized_attributes"}
    for t in generated:
        assert list(t)[: len(API_FIELDS)] == API_FIELDS
        assert set(t) - set(API_FIELDS) <= optional
        assert ISO_US.match(t["created_at"]) and ISO_US.match(t["updated_at"])
        assert t["created_at"] <= t["updated_at"] <= "2024-06-01T00:00:00.000000Z"
        assert t["created_at"] >= "2023-08-14"  # the window's 180 days and the lead-in's 112 before them
        assert t["due_date"] is None or ISO_MIDNIGHT.match(t["due_date"])
        assert t["attachments"] is None or 1 <= len(t["attachments"]) <= 3
        assert len(t["participants"]) <= 3 and len(t["segments"]) <= 2
        for seg in t["segments"]:
            assert re.fullmatch(r"/tickets/\?segment=\d+", seg["url"])
        for att in t["attachments"] or []:
            assert set(att) == {"id", "name", "url", "size", "content_type"}
            assert att["url"].startswith("https://files.example.invalid/")
        for user in t["participants"] + [t["person"] or {"id": 0, "name": "", "email": ""}]:
            assert set(user) == {"id", "name", "email"}
        assert t["author"] is not None and set(t["author"]) == {"id", "name", "avatar"}


def test_generated_ticket_has_every_field_of_the_seed_fixture(generated):
    seed = json.loads(SEED_FIXTURE.read_text())
    fixture_keys = set().union(*(t.keys() for t in seed["results"]))
    nested = {k for t in seed["results"] for k in t if isinstance(t[k], dict)}
    for t in generated:
        assert fixture_keys <= set(t)
        for key in nested:
            example = next(s[key] for s in seed["results"] if isinstance(s[key], dict))
            assert t[key] is None or set(example) <= set(t[key])


def test_generated_mix_of_statuses_and_optional_values(generated):
    n = len(generated)

    def share(predicate):
        return sum(1 for t in generated if predicate(t)) / n

    assert share(lambda t: t["status"] == "active") == pytest.approx(0.01, abs=0.005)
    assert share(lambda t: t["status"] == "closed") == pytest.approx(0.57, abs=0.02)
    assert share(lambda t: t["status"] == "archived") == pytest.approx(0.40, abs=0.02)
    assert share(lambda t: t["status"] == "draft") == pytest.approx(0.03, abs=0.01)
    assert share(lambda t: t["assigned_to"] is None) == pytest.approx(0.08, abs=0.02)
    assert share(lambda t: t["priority"] is None) == pytest.approx(0.05, abs=0.02)
    assert share(lambda t: t["person"] is None) == pytest.approx(0.10, abs=0.02)
    assert share(lambda t: t["company"] is None) == pytest.approx(0.30, abs=0.03)
    assert share(lambda t: t["attachments"] is None) == pytest.approx(0.60, abs=0.03)
    assert share(lambda t: t["due_date"] is not None) == pytest.approx(0.70, abs=0.03)
    assert share(lambda t: "custom_id" in t) == pytest.approx(0.30, abs=0.03)
    assert share(lambda t: "attributes" in t) == pytest.approx(0.50, abs=0.03)
    assert share(lambda t: not t["participants"]) > 0.4
    assert share(lambda t: len(t["description"].encode()) >= 2048) == pytest.approx(0.05, abs=0.015)
    assert len({t["person"]["id"] for t in generated if t["person"]}) == pytest.approx(500, abs=10)
    assert len({t["company"]["id"] for t in generated if t["company"]}) == 50


def test_generated_agents_and_priorities(generated):
    agents = {t["author"]["id"]: t["author"]["name"] for t in generated}
    assert sorted(agents) == list(range(1, 11))
    assert any(not name.isascii() for name in agents.values())
    assert "Agent Bob" in agents.values()
    priorities = {(p["id"], p["name"], p["order"]) for t in generated if (p := t["priority"])}
    assert priorities == {(1, "Urgent", 1), (2, "High", 2), (3, "Normal", 3), (4, "Low", 4)}


def test_generated_status_history_is_chronological_and_ends_in_the_status(generated):
    paths = set()
    for t in generated:
        history = t.get("status_history")
        if history is None:
            continue
        assert history[0]["entered_at"] == t["created_at"]
        assert history[-1]["status"] == t["status"]
        assert [h["entered_at"] for h in history] == sorted(h["entered_at"] for h in history)
        assert history[-1]["entered_at"] <= t["updated_at"]
        paths.add(tuple(h["status"] for h in history))
    assert ("active", "closed", "active", "closed") in paths  # some are reopened
    assert ("draft", "active", "closed") in paths
    closed = [t for t in generated if t["status"] == "closed" and t["due_date"] and "status_history" in t]
    late = sum(1 for t in closed if t["status_history"][-1]["entered_at"] > t["due_date"])
    assert 0 < late < len(closed)  # closed sometimes before, sometimes after the due date


def test_generated_custom_attributes_match_their_serialized_form(generated):
    keys = set()
    for t in generated:
        assert ("attributes" in t) == ("serialized_attributes" in t)
        if "attributes" in t:
            assert json.loads(t["serialized_attributes"]) == t["attributes"]
            keys |= set(t["attributes"])
        if "custom_id" in t:
            assert isinstance(t["custom_id"], str)
    assert {"channel", "product", "csat"} <= keys and len(keys) > 3


def test_generated_texts_include_hard_unicode_and_html(generated):
    text = "".join(t["description"] + t["name"] for t in generated)
    for needle in ("<p>", "\n", "🚀", "日本語", "مرحبا", "שלום", '"', "'"):
        assert needle in text


def test_bench_command_reports_pages_per_second(capsys):
    from pipelines.sandbox import bench

    bench.main(["--tickets", "500", "--passes", "1"])
    out = capsys.readouterr().out
    assert "generate_tickets(500):" in out and "sandbox start-up with 500 tickets" in out
    assert re.search(r"follow next \+ orjson parse: best [\d,]+ pages/s", out)
    assert re.search(r"fetch only \(same URLs\): best [\d,]+ pages/s", out)
