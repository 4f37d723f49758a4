"""Behaviours public clients report of the real User.com API, each served by the sandbox on 127.0.0.1.

Each test runs the real pipeline against the behaviour and asserts on the rows in DuckDB: the run either
ends with exactly the sandbox's tickets, or fails with a message naming the cause and the fix (no key) and
the data of the previous run intact.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import urllib.error
import urllib.request

import orjson
import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.summary_text import summary_lines
from pipelines.usercom.errors import UsercomPaginationError
from pipelines.usercom.http.client import TicketsClient
from tests.conftest import page, query, run, seed_tickets
from tests.test_faults_http import assert_failed_cleanly
from tests.test_http_contract import self_signed_certificate
from tests.test_pipeline import assert_tickets_equal, table_rows


def requests_by_status(server) -> dict:
    """How many requests each listing made (None: no status filter)."""
    counts: dict = {}
    for entry in server.request_log:
        status = entry["query"].get("status")
        counts[status] = counts.get(status, 0) + 1
    return counts


# ----- the last page's `next` answers 404 -------------------------------------------------------------

def test_a_last_page_next_that_answers_404_ends_the_listing_once_every_ticket_of_count_is_in(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50, dangling_last_next=True)
    summary = run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    assert server.stats["past_the_end"] == 4  # one 404 per status listing
    assert all(x.ended_on_404 and "cursor=" in x.ended_on_404 for x in summary.report.listings.values())
    assert sum("`next` link answered 404 after every ticket" in line for line in summary_lines(summary)) == 4


def test_a_next_that_answers_404_short_of_count_fails_naming_the_link_and_keeps_the_data(scripted, data_dir):
    api = scripted()
    tickets = seed_tickets()
    api.pages["/api/public/tickets/"] = (200, page(tickets))
    run(api, data_dir, statuses=["closed"])
    before = table_rows(data_dir, "tickets", "id")
    # the API says five tickets, sends two, and its `next` answers 404
    api.pages["/api/public/tickets/"] = (200, page([{**t, "name": "changed"} for t in tickets],
                                                   f"{api.url}/api/public/tickets/gone/?cursor=2", count=5))
    with pytest.raises(Exception) as failure:
        run(api, data_dir, statuses=["closed"])
    assert isinstance(failure.value, UsercomPaginationError) or "UsercomPaginationError" in repr(failure.value)
    assert_failed_cleanly(failure, data_dir, before, "answered 404 after 2 of the 5 tickets",
                          "/api/public/tickets/gone/?cursor=2")


# ----- `next` links over http on the https host -----------------------------------------------------------

def test_next_links_over_http_on_the_https_host_are_followed_over_https_and_said_once(sandbox, data_dir, tmp_path,
                                                                                      monkeypatch, caplog):
    cert, key = self_signed_certificate(tmp_path)
    server = sandbox(tickets=300, page_size=50, tls=(cert, key), next_over_http=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    with caplog.at_level(logging.WARNING, logger="usercom.client"):
        run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    # a plain-http request to the TLS port would have failed its handshake and never reached the log
    assert all(e["auth_ok"] for e in server.request_log) and len(server.request_log) > 4
    assert caplog.text.count("following them over https") == 1
    assert SANDBOX_API_KEY not in caplog.text


@pytest.mark.parametrize("link, differs", [
    ("https://evil.example/api/public/tickets/?cursor=1", "host evil.example instead of acme.user.com"),
    ("http://acme.user.com:8080/api/public/tickets/?cursor=1", "scheme http instead of https, port 8080 instead of 443"),
    ("https://acme.user.com:8443/api/public/tickets/?cursor=1", "port 8443 instead of 443"),
    ("ftp://acme.user.com/api/public/tickets/?cursor=1", "scheme ftp instead of https"),
])
def test_a_next_link_off_the_configured_origin_is_refused_naming_what_differs(link, differs):
    client = TicketsClient("https://acme.user.com/api/public/", SANDBOX_API_KEY)
    with pytest.raises(UsercomPaginationError) as failure:
        client.checked_next(link, set())
    assert differs in str(failure.value) and "Refused to follow `next`" in str(failure.value)


@pytest.mark.parametrize("link", ["http://acme.user.com/api/public/tickets/?cursor=1",
                                  "http://ACME.user.com:80/api/public/tickets/?cursor=1"])
def test_an_http_next_link_on_the_https_host_and_default_port_is_taken_over_https(link):
    client = TicketsClient("https://acme.user.com/api/public/", SANDBOX_API_KEY)
    assert client.checked_next(link, set()) == "https://acme.user.com/api/public/tickets/?cursor=1"


def test_an_http_base_url_never_takes_an_https_next_link_for_its_own(scripted, data_dir):
    client = TicketsClient("http://127.0.0.1:8000/api/public/", SANDBOX_API_KEY)
    with pytest.raises(UsercomPaginationError, match="scheme https instead of http"):
        client.checked_next("https://127.0.0.1:8000/api/public/tickets/?cursor=1", set())


# ----- 401 windows after bursts ---------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_short_401_windows_after_bursts_are_ridden_out_once_the_key_was_accepted(sandbox, data_dir):
    server = sandbox(tickets=1500, page_size=20, unauthorized_burst=30, unauthorized_seconds=0.3)
    summary = run(server, data_dir, source={"max_attempts": 8, "max_total_wait_seconds": 30.0})
    assert server.stats["unauthorized_burst"] >= 1
    assert summary.report.throttles >= server.stats["unauthorized_burst"]
    assert summary.report.paced_at is not None  # the run slowed itself down after the first burst
    assert any("the API throttled" in line for line in summary_lines(summary))
    assert_tickets_equal(data_dir, server.tickets())


@pytest.mark.timeout(60)
def test_a_key_revoked_mid_run_fails_within_the_retry_bounds_naming_both_causes(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=20)
    run(server, data_dir, statuses=["closed"])
    before = table_rows(data_dir, "tickets", "id")
    server.update_ticket(next(t["id"] for t in server.tickets() if t["status"] == "closed"), name="changed")
    first_request = len(server.request_log)

    def revoke_after_three_pages(srv, number, status, page_number):
        if number - first_request >= 3:  # from the fourth request on (this one's key was checked already)
            srv.options.api_key = "revoked-" + "0" * 56

    server.on_request(revoke_after_three_pages)
    with pytest.raises(Exception) as failure:
        run(server, data_dir, statuses=["closed"], source={"max_attempts": 3, "backoff_base_seconds": 0.01})
    assert_failed_cleanly(failure, data_dir, before, "answered 401", "accepted earlier in this run", "revoked",
                          "SOURCES__USERCOM__API_KEY", "requests_per_second", "after 3 attempt(s)")
    assert len(server.request_log) - first_request == 3 + 3  # three pages, then three attempts of the fourth


# ----- the API's rate limit -----------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_a_rate_limit_is_learnt_from_the_first_throttle_and_held_with_few_429s(sandbox, data_dir):
    # 20 requests/s allowed, 429 with Retry-After: 1 beyond; about 100 pages
    server = sandbox(tickets=5000, page_size=50, requests_per_second=20, retry_after="1")
    summary = run(server, data_dir, source={"max_total_wait_seconds": 30.0})
    assert_tickets_equal(data_dir, server.tickets())
    assert 1 <= server.stats["rate_limited"] <= 6  # the first burst (one per listing in flight), not a storm
    assert summary.report.paced_at is not None and summary.report.paced_at < 20


@pytest.mark.timeout(120)
def test_requests_per_second_caps_the_whole_run_below_the_api_limit(sandbox, data_dir):
    server = sandbox(tickets=2000, page_size=50, requests_per_second=20, retry_after="1")
    summary = run(server, data_dir, source={"requests_per_second": 12})
    assert server.stats["rate_limited"] == 0
    assert summary.report.throttles == 0 and summary.report.paced_at == 12
    assert_tickets_equal(data_dir, server.tickets())


def test_a_requests_per_second_of_zero_is_refused_naming_the_setting(sandbox, data_dir):
    server = sandbox(tickets=10)
    with pytest.raises(Exception, match="requests_per_second = 0"):
        run(server, data_dir, source={"requests_per_second": 0})
    assert server.request_log == []


# ----- the status filter ignored --------------------------------------------------------------------------

def test_an_ignored_status_filter_is_noticed_and_every_ticket_is_listed_once(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50, ignore_status_filter=True)
    summary = run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    per_status = requests_by_status(server)
    assert sum(per_status.values()) == 8 + 3  # one listing of 8 pages; the three others stop after their first page
    assert sorted(per_status.values()) == [1, 1, 1, 8]
    assert summary.report.filter_ignored is not None and summary.report.repeated == 0
    lines = summary_lines(summary)
    assert any("ignored the status filter" in line and "once, without it" in line for line in lines)
    assert any(line.startswith("all ") for line in lines)


def test_an_ignored_status_filter_in_a_subset_run_loads_only_the_statuses_asked_for(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50, ignore_status_filter=True)
    run(server, data_dir, statuses=["active", "draft"])
    wanted = [t for t in server.tickets() if t["status"] in ("active", "draft")]
    assert_tickets_equal(data_dir, wanted)


def test_after_the_filter_turns_ignored_an_incremental_run_loads_only_what_changed(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50)
    run(server, data_dir, statuses=["closed"])  # the other listings' cursors are older, or unset
    # every status's newest ticket becomes one of the newest of all: the listing that reads everything starts at the
    # oldest of the cursors, and must skip the versions the other listings loaded (whatever the generated mix)
    for status in sorted({t["status"] for t in server.tickets()}):
        server.update_ticket(next(t for t in server.tickets() if t["status"] == status)["id"], name=f"touched {status}")
    run(server, data_dir)
    server.options.ignore_status_filter = True
    changed = next(t for t in server.tickets() if t["status"] == "archived")
    server.update_ticket(changed["id"], name="changed while the filter was ignored")
    summary = run(server, data_dir)
    assert sum(x.kept for x in summary.report.listings.values()) == 1
    assert_tickets_equal(data_dir, server.tickets())
    again = run(server, data_dir)
    assert sum(x.kept for x in again.report.listings.values()) == 0


# ----- timestamps with +00:00 --------------------------------------------------------------------------

def test_entered_at_with_offsets_loads_to_the_same_instants_as_with_z(sandbox, tmp_path):
    zulu, offsets = sandbox(tickets=300, page_size=50), sandbox(tickets=300, page_size=50, entered_at_offsets=True)
    body = urllib.request.urlopen(urllib.request.Request(
        offsets.base_url + "tickets/", headers={"Authorization": f"Token {SANDBOX_API_KEY}"})).read()
    assert b'"entered_at":"' in body and b'+00:00"' in body
    run(zulu, tmp_path / "z")
    summary = run(offsets, tmp_path / "offsets")
    sql = "SELECT ticket_id, position, entered_at, status FROM usercom.tickets__status_history ORDER BY 1, 2"
    assert query(tmp_path / "offsets", sql) == query(tmp_path / "z", sql) != []
    assert_tickets_equal(tmp_path / "offsets", offsets.tickets())
    assert summary.rejected == 0


# ----- the sandbox's own command line ----------------------------------------------------------------------

def test_the_sandbox_command_line_serves_each_behaviour(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.sandbox", "--tickets", "30", "--page-size", "100",
                             "--port", "0", "--dangling-last-next", "--ignore-status-filter", "--entered-at-offsets",
                             "--requests-per-second", "50", "--unauthorized-burst", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().split(" on ")[1].split(" ")[0]
        headers = {"Authorization": f"Token {SANDBOX_API_KEY}"}
        request = urllib.request.Request(base + "tickets/?status=draft", headers=headers)
        first = orjson.loads(urllib.request.urlopen(request).read())
        assert first["count"] == 30 and {t["status"] for t in first["results"]} != {"draft"}  # filter ignored
        assert first["next"] is not None and "+00:00" in orjson.dumps(first["results"]).decode()
        with pytest.raises(urllib.error.HTTPError) as past_the_end:
            urllib.request.urlopen(urllib.request.Request(first["next"], headers=headers))
        assert past_the_end.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
