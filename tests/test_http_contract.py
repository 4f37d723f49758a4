"""How the source treats the API's HTTP answers: auth failures, foreign hosts, loops, config errors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.usercom.http.retries import parse_retry_after
from tests.conftest import page, query, reply, run, seed_tickets

REAL_LOOKING_KEY = "k" * 40 + "SECRET" + "q" * 18  # 64 characters, easy to grep for


def test_next_link_to_a_foreign_host_is_refused_and_never_receives_the_token(scripted, data_dir):
    api, foreign = scripted("127.0.0.1"), scripted("127.0.0.2")
    foreign.pages["/api/public/tickets/"] = (200, page([]))
    api.pages["/api/public/tickets/"] = (200, page(seed_tickets(), f"{foreign.url}/api/public/tickets/?cursor=abc"))
    with pytest.raises(Exception) as failure:
        run(api, data_dir, statuses=["closed"])
    assert "Refused to follow `next`" in str(failure.value) and "127.0.0.2" in str(failure.value)
    assert foreign.requests == []
    assert not (data_dir / "tickets.duckdb").exists() or query(data_dir, "SELECT count(*) FROM information_schema.tables "
                                                               "WHERE table_name = 'tickets'") == [(0,)]


def test_next_link_that_repeats_a_page_stops_with_an_error_instead_of_looping(scripted, data_dir):
    api = scripted()
    api.pages["/api/public/tickets/"] = (200, page(seed_tickets(), f"{api.url}/api/public/tickets/?status=closed"))
    with pytest.raises(Exception) as failure:
        run(api, data_dir, statuses=["closed"])
    assert "repeats a page already read" in str(failure.value)
    assert len(api.requests) == 1


@pytest.mark.parametrize("status, words", [(400, "malformed"), (403, "not allowed"), (404, "SUBDOMAIN")])
def test_client_errors_fail_at_once_naming_status_url_and_fix(scripted, data_dir, status, words):
    api = scripted()
    api.pages["/api/public/tickets/"] = (status, {"detail": "nope"})
    with pytest.raises(Exception) as failure:
        run(api, data_dir, statuses=["active"])
    message = str(failure.value)
    assert f"answered {status}" in message and "/api/public/tickets/?status=active" in message and words in message
    assert "Server said: nope" in message
    assert len(api.requests) == 1  # not retried


def cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs the installed console script's code in a fresh process, as cron would: none of the test process's
    own source or dlt runtime settings, only those in `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "RUNTIME__"))}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd, timeout=120)


def test_wrong_api_key_fails_fast_with_one_line_and_never_prints_the_key(sandbox, tmp_path):
    server = sandbox(tickets=50)
    result = cli("run", "--data-dir", str(tmp_path / "data"), env={
        "SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == 5
    assert "answered 401" in result.stderr and "SOURCES__USERCOM__API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    statuses = [e["query"]["status"] for e in server.request_log]
    assert statuses and len(statuses) == len(set(statuses))  # at most one per status: never retried
    assert REAL_LOOKING_KEY not in result.stdout + result.stderr
    leaked = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and REAL_LOOKING_KEY.encode() in p.read_bytes()]
    assert leaked == []


def test_configuration_from_environment_variables_runs_the_pipeline(sandbox, tmp_path):
    server = sandbox(tickets=120)
    result = cli("run", "--no-transform", "--data-dir", str(tmp_path / "data"), "--statuses", "active,closed", env={
        "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == 0, result.stderr
    opened = sum(t["status"] in ("active", "closed") for t in server.tickets())
    assert query(tmp_path / "data", "SELECT count(*) FROM usercom.tickets") == [(opened,)]
    assert f"{opened} tickets loaded" in result.stdout


def test_configuration_from_dlt_toml_files_runs_the_pipeline(sandbox, tmp_path):
    server = sandbox(tickets=60)
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(f'[sources.usercom]\napi_key = "{SANDBOX_API_KEY}"\n')
    (tmp_path / ".dlt" / "config.toml").write_text(f'[sources.usercom]\nbase_url = "{server.base_url}"\n')
    result = cli("run", "--no-transform", env={"USERCOM_DATA_DIR": str(tmp_path / "out")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(tmp_path / "out", "SELECT count(*) FROM usercom.tickets") == [(60,)]


@pytest.mark.parametrize("env, missing", [
    ({"SOURCES__USERCOM__SUBDOMAIN": "acme"}, "SOURCES__USERCOM__API_KEY"),
    ({"SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY}, "SOURCES__USERCOM__SUBDOMAIN"),
])
def test_missing_key_or_subdomain_fails_before_any_request_saying_how_to_set_it(tmp_path, env, missing):
    result = cli("run", "--data-dir", str(tmp_path / "data"), env=env, cwd=tmp_path)
    assert result.returncode == 4
    assert missing in result.stderr and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert REAL_LOOKING_KEY not in result.stderr


def test_unknown_status_is_refused_before_any_request(tmp_path):
    result = cli("run", "--data-dir", str(tmp_path / "data"), "--statuses", "open", cwd=tmp_path)
    assert result.returncode == 2 and "unknown status open" in result.stderr


def test_retry_after_is_read_as_seconds_zero_or_an_http_date():
    import time
    from email.utils import formatdate

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0") == 0.0
    assert 8 <= parse_retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert parse_retry_after(formatdate(time.time() - 10, usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_credentials_in_a_url_are_redacted_before_any_message():
    from pipelines.usercom.http.urls import redact_url

    assert redact_url("https://x.user.com/api/public/tickets/?status=active&token=abc") == \
        "https://x.user.com/api/public/tickets/?status=active&token=%2A%2A%2A"


def self_signed_certificate(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made by the openssl command line."""
    cert, key = folder / "sandbox.crt", folder / "sandbox.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def test_https_loads_with_the_certificate_trusted_through_requests_ca_bundle_and_refuses_it_otherwise(
        sandbox, data_dir, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    server = sandbox(tickets=150, page_size=50, tls=(cert, key))
    assert server.base_url.startswith("https://")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    summary = run(server, data_dir)
    assert summary.tickets_after == 150
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the public roots do not know this certificate
    server.update_ticket(server.tickets()[0]["id"], name="changed")
    with pytest.raises(Exception) as failure:
        run(server, data_dir)
    message = str(failure.value)
    assert "UsercomHTTPError" in message
    assert "TLS certificate of 127.0.0.1 was refused" in message and "REQUESTS_CA_BUNDLE" in message
    assert SANDBOX_API_KEY not in message
    assert "attempt(s)" not in message  # refused at once: no retry can change a certificate


def test_a_proxy_named_in_the_environment_carries_every_request(sandbox, data_dir, monkeypatch):
    # an HTTP forward proxy on loopback: it receives each request with the absolute URL and relays it
    server = sandbox(tickets=120, page_size=50)
    relayed = []
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the proxy itself goes straight out

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            relayed.append(self.path)
            forwarded = urllib.request.Request(self.path, headers={k: v for k, v in self.headers.items()
                                                                   if k.lower() not in ("host", "proxy-connection")})
            try:
                with direct.open(forwarded) as upstream:
                    status, body = upstream.status, upstream.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            reply(self, status, body)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        summary = run(server, data_dir)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert summary.tickets_after == 120
    assert relayed and all(p.startswith(server.base_url + "tickets/") for p in relayed)
    assert len(relayed) == server.stats["requests"]
