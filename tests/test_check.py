"""`usercom-tickets check` against the real sandbox and scripted APIs: what it reports, its exit code, and that it
stays within about a dozen requests and writes nothing."""

from __future__ import annotations

from pathlib import Path

from pipelines.sandbox import SANDBOX_API_KEY
from tests.conftest import page, seed_tickets
from tests.test_http_contract import REAL_LOOKING_KEY, cli, self_signed_certificate


def check(server_or_url, tmp_path: Path, key: str = SANDBOX_API_KEY, *args: str, env: dict | None = None):
    """Runs `usercom-tickets check` in a fresh process from an empty folder, configured by environment variables."""
    base = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    result = cli("check", *args, cwd=tmp_path, env={"SOURCES__USERCOM__API_KEY": key, "SOURCES__USERCOM__BASE_URL": base,
                                                    "USERCOM_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    assert key not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / ".dlt").exists()  # nothing written
    return result


def line(output: str, topic: str) -> str:
    """The report's lines of one topic, joined."""
    return "\n".join(x for x in output.splitlines() if x.startswith(topic))


def test_check_of_a_healthy_account_reports_counts_filters_links_and_says_a_run_would_work(sandbox, tmp_path):
    server = sandbox(tickets=600, page_size=100)
    result = check(server, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert line(out, "key") == "key          accepted"
    assert "600 in all; 100 a page" in line(out, "tickets")
    for status in ("active", "closed", "archived", "draft"):
        count = sum(t["status"] == status for t in server.tickets())
        assert f"count {count}; filter `status={status}` holds" in line(out, status)
    assert "page 2 of every ticket: 100 tickets, answered 200" in line(out, "next links")
    assert "no rate-limit or Retry-After headers seen" in line(out, "rate limits")
    assert "status_history.entered_at: Z with fractions" in line(out, "timestamps")
    assert line(out, "verdict").startswith("verdict      OK: a run would work")
    assert len(server.request_log) == 6 <= 12


def test_check_with_a_wrong_key_fails_after_one_request_saying_how_to_set_it(sandbox, tmp_path):
    server = sandbox(tickets=50)
    result = check(server, tmp_path, REAL_LOOKING_KEY)
    assert result.returncode == 5  # the API refused
    assert "FAIL: rejected (401)" in line(result.stdout, "key") and "SOURCES__USERCOM__API_KEY" in result.stdout
    assert "FAIL: a run would not work" in line(result.stdout, "verdict")
    assert len(server.request_log) == 1  # a wrong key is never hammered


def test_check_of_a_wrong_base_url_fails_naming_the_subdomain_setting(scripted, tmp_path):
    api = scripted()
    result = check(api.url + "/wrong/api/public/", tmp_path)
    assert result.returncode == 5 and "answered 404" in result.stdout and "SOURCES__USERCOM__SUBDOMAIN" in result.stdout


def test_check_reports_each_quirk_the_run_handles_and_still_says_it_would_work(sandbox, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    quirky = sandbox(tickets=60, page_size=100, tls=(cert, key), next_over_http=True, dangling_last_next=True,
                     ignore_status_filter=True, entered_at_offsets=True, requests_per_second=3, retry_after="1")
    result = check(quirky, tmp_path, env={"REQUESTS_CA_BUNDLE": cert})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "the API ignores `status`" in line(out, "filter")
    assert "ignored" in line(out, "draft")
    assert "http:// on 127.0.0.1 (followed over https" in line(out, "next links")
    assert "answers 404 although every ticket of `count` was received" in line(out, "last page")
    assert "retry-after: 1 (on a 429)" in line(out, "rate limits")
    assert "status_history.entered_at: +00:00" in line(out, "timestamps")
    assert quirky.stats["rate_limited"] >= 1 and len(quirky.request_log) <= 12


def test_check_refuses_next_links_to_another_host_naming_it(scripted, tmp_path):
    api, foreign = scripted("127.0.0.1"), scripted("127.0.0.2")
    api.pages["/api/public/tickets/"] = (200, page(seed_tickets(), f"{foreign.url}/api/public/tickets/?cursor=2", count=9))
    result = check(api, tmp_path)
    assert result.returncode == 5
    assert "FAIL: Refused to follow `next`" in line(result.stdout, "next links")
    assert "host 127.0.0.2 instead of 127.0.0.1" in result.stdout
    assert foreign.requests == []


def test_check_lists_fields_beyond_the_known_set_missing_fields_and_odd_timestamps(scripted, tmp_path):
    api = scripted()
    tickets = seed_tickets()
    for ticket in tickets:
        ticket.pop("company", None)
        ticket["sla_level"] = "gold"
    tickets[0]["due_date"] = "next tuesday"
    api.pages["/api/public/tickets/"] = (200, page(tickets))
    result = check(api, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fields = line(result.stdout, "fields")
    assert "beyond the known set: sla_level" in fields and "missing: company" in fields
    assert "due_date: " in result.stdout and "unreadable" in line(result.stdout, "timestamps")
    assert "tickets_rejected" in line(result.stdout, "timestamps")


def test_check_without_a_key_fails_before_any_request(tmp_path):
    result = cli("check", cwd=tmp_path, env={"SOURCES__USERCOM__SUBDOMAIN": "acme"})
    assert result.returncode == 4 and "SOURCES__USERCOM__API_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_reads_the_configured_statuses_and_settings_as_a_run_does(sandbox, tmp_path):
    server = sandbox(tickets=300)
    result = check(server, tmp_path, env={"SOURCES__USERCOM__STATUSES": '["active", "draft"]',
                                          "SOURCES__USERCOM__STATUS_PARAM": "state"})
    assert result.returncode == 0, result.stdout  # the sandbox knows `status`, not `state`: it ignores the filter
    assert "the API ignores `state`" in line(result.stdout, "filter")
    listed = [e["query"] for e in server.request_log]
    assert {"state": "active"} in listed and {"state": "draft"} in listed
    assert not any("closed" in q.values() or "archived" in q.values() for q in listed)
