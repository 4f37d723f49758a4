"""Faults of the network and of the API's pages, injected by the real sandbox on 127.0.0.1.

Each test runs the real pipeline through the fault and asserts on the DuckDB rows: either the run ends
with exactly the sandbox's tickets, or it fails with a clear message (URL, no key) and the data of the
previous run is intact, and the next clean run is exact. Time is scaled down (short timeouts and
Retry-After), the shape of each fault is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from email.utils import formatdate

import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.summary_text import summary_lines
from pipelines.usercom.errors import UsercomError
from pipelines.usercom.http.read_ahead import ReadAheads
from tests.conftest import ScriptedAPI, page, query, run
from tests.test_pipeline import assert_tickets_equal, table_rows

# a whole request (connect to last byte) must end within this; hangs and drips are cut off by it
SHORT = {"request_timeout_seconds": 0.6, "max_attempts": 3, "backoff_base_seconds": 0.01, "max_total_wait_seconds": 10.0}


def clear_after_first(server, knob: str, counter: str):
    """A sandbox hook that makes a fault transient: the knob is emptied once the fault was served once."""

    def hook(srv, number, status, page_number):
        if srv.stats[counter] >= 1:
            setattr(srv.options, knob, type(getattr(srv.options, knob))())

    server.on_request(hook)


def loaded_then_faulty(sandbox, data_dir, **fault):
    """A sandbox whose tickets were loaded once cleanly; then one ticket changes and the fault is switched on."""
    server = sandbox(tickets=400, page_size=50)
    run(server, data_dir)
    before = table_rows(data_dir, "tickets", "id")
    changed = next(t for t in server.tickets() if t["status"] == "closed")
    server.update_ticket(changed["id"], name="changed before the fault")
    for knob, value in fault.items():
        setattr(server.options, knob, value)
    return server, before


def assert_failed_cleanly(failure, data_dir, before, *words):
    message = str(failure.value)
    assert isinstance(failure.value, UsercomError) or "UsercomHTTPError" in repr(failure.value) or any(
        isinstance(e, UsercomError) for e in _chain(failure.value)), message
    for word in words:
        assert word in message, message
    assert SANDBOX_API_KEY not in message
    assert table_rows(data_dir, "tickets", "id") == before  # nothing partial, the previous data intact


def _chain(error):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def rerun_is_exact(server, data_dir):
    for knob in ("hang_pages", "drip_pages", "drop_pages", "html_pages", "truncate_pages", "next_self_pages"):
        setattr(server.options, knob, set())
    server.options.empty_pages = {}
    server.options.rate_limit_every = 0
    server.on_request(None)
    run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())


# ----- a server that accepts the connection and never answers, or drips -------------------------------

@pytest.mark.timeout(60)
def test_server_that_never_answers_times_out_per_request_retries_then_fails_naming_the_url(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, hang_pages={("closed", 2)})
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source=SHORT)
    assert_failed_cleanly(failure, data_dir, before, "No complete answer", "/api/public/tickets/?cursor=",
                          "status=closed", "no complete answer within 0.6 s", "after 3 attempt(s)")
    assert server.stats["hung"] == 3
    rerun_is_exact(server, data_dir)


@pytest.mark.timeout(60)
def test_server_that_answers_one_byte_at_a_time_is_cut_off_by_the_whole_request_deadline(sandbox, data_dir):
    # each byte comes well inside the per-read timeout: only a bound on the whole request ends it
    server, before = loaded_then_faulty(sandbox, data_dir, drip_pages={("closed", 2)}, drip_interval=0.1)
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source=SHORT)
    assert_failed_cleanly(failure, data_dir, before, "no complete answer within 0.6 s", "status=closed")
    assert server.stats["dripped"] == 3
    rerun_is_exact(server, data_dir)


@pytest.mark.timeout(60)
def test_a_request_that_hangs_once_is_retried_and_the_run_is_exact(sandbox, data_dir):
    server, _ = loaded_then_faulty(sandbox, data_dir, hang_pages={("closed", 2)})
    clear_after_first(server, "hang_pages", "hung")
    summary = run(server, data_dir, source=SHORT)
    assert server.stats["hung"] == 1 and summary.report.listings["closed"].retries == 1
    assert_tickets_equal(data_dir, server.tickets())


# ----- rate-limit storms -------------------------------------------------------------------------------

@pytest.mark.timeout(120)
@pytest.mark.parametrize("retry_after", ["1", "http-date", "0"])
def test_rate_limit_storm_on_every_other_request_is_ridden_out_honouring_retry_after(sandbox, data_dir, retry_after):
    # "429 on every other request for a minute", scaled: for 1.5 s, then the API calms down
    value = formatdate(time.time() + 1, usegmt=True) if retry_after == "http-date" else retry_after
    server = sandbox(tickets=600, page_size=50, rate_limit_every=2, rate_limit_for_seconds=1.5, retry_after=value,
                     latency_ms=5)
    summary = run(server, data_dir, source={"max_attempts": 8, "max_total_wait_seconds": 30.0})
    assert server.stats["rate_limited"] >= 2
    assert sum(x.retries for x in summary.report.listings.values()) == server.stats["rate_limited"]
    assert_tickets_equal(data_dir, server.tickets())


@pytest.mark.timeout(60)
def test_absurd_retry_after_is_capped_and_the_cap_is_said(sandbox, data_dir, caplog):
    server = sandbox(tickets=200, page_size=50, rate_limit_every=3, retry_after="31536000")  # a year
    with caplog.at_level(logging.WARNING, logger="usercom.client"):
        run(server, data_dir, source={"retry_after_cap_seconds": 0.2})
    assert server.stats["rate_limited"] >= 1
    assert "Retry-After of 31536000 s capped at 0.2 s" in caplog.text
    assert_tickets_equal(data_dir, server.tickets())


@pytest.mark.timeout(60)
def test_retry_after_beyond_the_budget_fails_at_once_saying_so_instead_of_sleeping(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, rate_limit_every=1, retry_after="3600")
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source={"max_total_wait_seconds": 5.0})  # the 120 s cap is still beyond 5 s
    assert_failed_cleanly(failure, data_dir, before, "kept failing", "HTTP 429", "Retry-After", "capped at 120 s",
                          "after 1 attempt(s)", "max_total_wait_seconds 5")


@pytest.mark.timeout(60)
def test_storm_longer_than_the_budget_fails_clearly_within_it(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, rate_limit_every=1, retry_after="0.3")  # unreadable: back-off
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source={"max_attempts": 50, "max_total_wait_seconds": 1.0, "backoff_base_seconds": 0.1})
    assert_failed_cleanly(failure, data_dir, before, "kept failing", "HTTP 429", "max_total_wait_seconds 1")
    rerun_is_exact(server, data_dir)


# ----- pages that lie --------------------------------------------------------------------------------

def test_count_that_changes_between_pages_is_reported_and_every_ticket_is_loaded(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50, count_drift=7)
    summary = run(server, data_dir)
    assert_tickets_equal(data_dir, server.tickets())
    closed = summary.report.listings["closed"]
    assert closed.api_count_last == closed.api_count + 7 * (closed.pages - 1)
    assert any("count changed from" in line and "closed" in line for line in summary_lines(summary))


def test_an_empty_page_that_links_onwards_is_followed_and_nothing_is_missed(sandbox, data_dir):
    server = sandbox(tickets=400, page_size=50, empty_pages={("closed", 2): 2, ("active", 1): 1})
    run(server, data_dir)
    assert server.stats["empty"] == 3
    assert_tickets_equal(data_dir, server.tickets())


def test_endless_empty_pages_that_link_onwards_stop_the_run_instead_of_paging_forever(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, empty_pages={("closed", 2): 10_000})
    with pytest.raises(Exception) as failure:
        run(server, data_dir)
    assert_failed_cleanly(failure, data_dir, before, "empty pages in a row", "status=closed")
    assert server.stats["empty"] <= 12
    rerun_is_exact(server, data_dir)


def test_next_equal_to_the_current_url_stops_the_run_and_loads_nothing_partial(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, next_self_pages={("closed", 3)})
    with pytest.raises(Exception) as failure:
        run(server, data_dir)
    assert_failed_cleanly(failure, data_dir, before, "repeats a page already read", "status=closed")
    rerun_is_exact(server, data_dir)


def test_a_proxy_html_page_with_status_200_is_retried_and_the_run_is_exact(sandbox, data_dir):
    server, _ = loaded_then_faulty(sandbox, data_dir, html_pages={("closed", 2)})
    clear_after_first(server, "html_pages", "html")
    summary = run(server, data_dir)
    assert server.stats["html"] == 1 and summary.report.listings["closed"].retries == 1
    assert_tickets_equal(data_dir, server.tickets())


def test_a_proxy_html_page_that_persists_fails_the_run_naming_the_url(sandbox, data_dir):
    server, before = loaded_then_faulty(sandbox, data_dir, html_pages={("closed", 2)})
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source={"max_attempts": 3})
    assert_failed_cleanly(failure, data_dir, before, "not JSON", "text/html", "status=closed", "after 3 attempt(s)")
    rerun_is_exact(server, data_dir)


@pytest.mark.parametrize("persistent", [False, True])
def test_gzip_body_cut_short_is_retried_or_fails_cleanly(sandbox, data_dir, persistent):
    server, before = loaded_then_faulty(sandbox, data_dir, gzip=True, truncate_pages={("closed", 2)})
    if not persistent:
        clear_after_first(server, "truncate_pages", "truncated")
        run(server, data_dir)
        assert server.stats["truncated"] == 1
        assert_tickets_equal(data_dir, server.tickets())
        return
    with pytest.raises(Exception) as failure:
        run(server, data_dir, source={"max_attempts": 3})
    assert_failed_cleanly(failure, data_dir, before, "kept failing", "status=closed")
    rerun_is_exact(server, data_dir)


def test_connection_closed_in_the_middle_of_a_body_is_retried_and_the_run_is_exact(sandbox, data_dir):
    server, _ = loaded_then_faulty(sandbox, data_dir, drop_pages={("closed", 2)})
    clear_after_first(server, "drop_pages", "dropped")
    summary = run(server, data_dir)
    assert server.stats["dropped"] == 1 and summary.report.listings["closed"].retries == 1
    assert_tickets_equal(data_dir, server.tickets())


def test_a_redirect_to_another_host_is_not_followed_and_the_token_never_leaves(sandbox, data_dir):
    foreign = ScriptedAPI("127.0.0.2")
    try:
        foreign.pages["/api/public/tickets/"] = (200, page([]))
        server, before = loaded_then_faulty(sandbox, data_dir, redirect_to=f"{foreign.url}/api/public/tickets/?status=closed")
        with pytest.raises(Exception) as failure:
            run(server, data_dir)
        assert_failed_cleanly(failure, data_dir, before, "redirect", "127.0.0.2", "not followed with the API key")
        assert foreign.requests == []
    finally:
        foreign.close()
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(400,)]


def test_a_listing_that_fails_while_another_starts_its_read_ahead_stops_it_instead_of_dying():
    # the race behind a run that hung, or failed with "generator already executing" instead of its own error:
    # a listing failed while another's read-ahead thread was known but not yet started
    listings = ReadAheads(wait_seconds=2.0)
    starting = threading.Event()

    class SlowToStart(threading.Thread):
        def start(self):
            starting.set()
            time.sleep(0.3)
            super().start()

    other_halt = threading.Event()
    other = SlowToStart(target=other_halt.wait, daemon=True)
    starter = threading.Thread(target=listings.start, args=(other_halt, other), daemon=True)
    starter.start()
    assert starting.wait(5)
    listings.stop_others(threading.Event())  # the failing listing's; raised "cannot join thread before it is started"
    assert other_halt.is_set()
    other.join(5)
    assert not other.is_alive()
