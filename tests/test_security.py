"""Secrets kept and data private: the API key never lands in a log, message, trace or file; https only;
files readable by their owner only; the sandbox stays on loopback."""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.job import run_job
from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.usercom.errors import UsercomConfigError
from pipelines.usercom.source import usercom
from pipelines.usercom.source_config import source_settings
from tests.conftest import FAST_RETRY, page, query
from tests.test_http_contract import REAL_LOOKING_KEY, cli


def key_forms(key: str) -> list[bytes]:
    """The key as it could be written: plain, in a header, URL- or base64-encoded, as UTF-16 (Windows-ish logs)."""
    raw = key.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), key.encode("utf-16-le"),
            base64.b64encode(f"Token {key}".encode())]


def files_holding(root: Path, key: str, allowed: set[Path] = frozenset()) -> list[Path]:
    forms = key_forms(key)
    return [p for p in root.rglob("*") if p.is_file() and p not in allowed and any(f in p.read_bytes() for f in forms)]


@pytest.mark.timeout(180)
def test_api_key_never_appears_in_logs_errors_tracebacks_traces_state_or_summary_at_debug_level(sandbox, tmp_path):
    server = sandbox(tickets=300, page_size=50, api_key=REAL_LOOKING_KEY, rate_limit_every=5, retry_after="0")
    env = {"SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
           "RUNTIME__LOG_LEVEL": "DEBUG", "SOURCES__USERCOM__BACKOFF_BASE_SECONDS": "0.01"}
    data = tmp_path / "data"
    ok = cli("-v", "run", "--data-dir", str(data), "--no-transform", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "DEBUG" in ok.stderr and "retrying GET" in ok.stderr  # the debug log really was on, retries included
    assert query(data, "SELECT count(*) FROM usercom.tickets") == [(300,)]
    # a failing run with -v prints the full traceback
    server.options.next_self_pages = {("closed", 2)}
    failed = cli("-v", "run", "--data-dir", str(data), "--no-transform", "--full-refresh", env=env, cwd=tmp_path)
    assert failed.returncode != 0 and "Traceback" in failed.stderr and "repeats a page" in failed.stderr
    # a failing run that the server answers with the key echoed in its error body
    server.options.next_self_pages = set()
    server.options.api_key = "another-key"  # now the sent key is wrong: 401, and the sandbox must not log it
    rejected = cli("-v", "run", "--data-dir", str(data), "--no-transform", env=env, cwd=tmp_path)
    assert rejected.returncode != 0 and "answered 401" in rejected.stderr

    for result in (ok, failed, rejected):
        for form in key_forms(REAL_LOOKING_KEY):
            assert form.decode("latin-1") not in result.stdout + result.stderr
    assert (data / ".dlt" / "usercom" / "trace.pickle").exists() or list((data / ".dlt").rglob("trace*"))
    assert files_holding(tmp_path, REAL_LOOKING_KEY) == []  # data dir, dlt state/trace/schemas, working dir
    assert REAL_LOOKING_KEY not in repr(server.request_log) + repr(server.stats)


def test_api_key_is_never_in_an_error_even_when_the_server_echoes_it(scripted, tmp_path):
    api = scripted()
    api.pages["/api/public/tickets/"] = (400, {"detail": f"bad request with Authorization: Token {REAL_LOOKING_KEY}"})
    with pytest.raises(Exception) as failure:
        run_job(tmp_path / "data", transform=False, statuses=["active"],
                     source_overrides={"api_key": REAL_LOOKING_KEY, "base_url": api.base_url, **FAST_RETRY})
    assert "answered 400" in str(failure.value) and "Token ***" in str(failure.value)
    assert REAL_LOOKING_KEY not in str(failure.value) and files_holding(tmp_path, REAL_LOOKING_KEY) == []


@pytest.mark.parametrize("base_url", [
    "http://acme.user.com/api/public/", "http://192.0.2.10/api/public/", "ftp://acme.user.com/api/public/",
    "acme.user.com/api/public/",
])
def test_plain_http_or_other_schemes_on_a_remote_host_are_refused_before_any_request(base_url):
    with pytest.raises(UsercomConfigError) as failure:
        usercom(source_settings(api_key=REAL_LOOKING_KEY, base_url=base_url))
    assert ("Refused the plain http://" in str(failure.value) and "--allow-insecure-http" in str(failure.value)) or \
        "must be an https:// URL" in str(failure.value)
    assert REAL_LOOKING_KEY not in str(failure.value)


@pytest.mark.parametrize("base_url", ["https://acme.user.com/api/public/", "http://127.0.0.1:8765/api/public/",
                                      "http://localhost:8765/api/public/", "http://[::1]:8765/api/public/",
                                      "http://127.0.0.2:8765/api/public/"])
def test_https_and_loopback_http_base_urls_are_accepted(base_url):
    assert len(usercom(source_settings(api_key=REAL_LOOKING_KEY, base_url=base_url)).resources) == 4  # built, nothing requested


def test_allow_insecure_http_lets_a_remote_plain_http_base_url_through():
    # the source is only built: no request leaves the machine
    assert usercom(source_settings(api_key=REAL_LOOKING_KEY, base_url="http://192.0.2.10/api/public/",
                                  allow_insecure_http=True)).resources


def test_allow_insecure_http_flag_of_the_cli_runs_the_pipeline(sandbox, tmp_path):
    server = sandbox(tickets=40)
    result = cli("run", "--allow-insecure-http", "--no-transform", "--data-dir", str(tmp_path / "data"),
                 env={"SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == 5 and "answered 401" in result.stderr  # got as far as the API: the flag was accepted
    server.options.api_key = REAL_LOOKING_KEY
    result = cli("run", "--allow-insecure-http", "--no-transform", "--data-dir", str(tmp_path / "data"),
                 env={"SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == 0, result.stderr
    assert query(tmp_path / "data", "SELECT count(*) FROM usercom.tickets") == [(40,)]


def test_a_next_link_that_downgrades_https_to_another_scheme_or_port_is_refused(scripted, data_dir):
    api = scripted()
    host, port = api.url.split("//")[1].split(":")
    targets = (f"https://{host}:{port}/api/public/tickets/?cursor=x", f"http://{host}:{int(port) + 1}/api/public/tickets/?c=1")
    for target in targets:
        api.pages["/api/public/tickets/"] = (200, page([], target))
        with pytest.raises(Exception) as failure:
            run_job(data_dir, transform=False, statuses=["active"],
                         source_overrides={"api_key": REAL_LOOKING_KEY, "base_url": api.base_url, **FAST_RETRY})
        assert "Refused to follow `next`" in str(failure.value)
    assert all(r["path"].startswith("/api/public/tickets/?status=active") for r in api.requests)


def test_duckdb_file_parquet_and_state_are_readable_by_the_owner_only(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = sandbox(tickets=60)
    data = tmp_path / "data"
    before = os.umask(0o022)  # a usual umask: files would be world-readable
    try:
        run_job(data, transform=False, destination="parquet",
                source_overrides={"api_key": SANDBOX_API_KEY, "base_url": server.base_url})
        assert os.umask(0o022) == 0o022  # the run put the caller's umask back
    finally:
        os.umask(before)
    assert stat.S_IMODE((data / "tickets.duckdb").stat().st_mode) == 0o600
    assert (data / "parquet" / "usercom" / "tickets.parquet").exists()
    loose = [p for p in data.rglob("*") if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []


def test_a_loose_local_secrets_file_is_warned_about(sandbox, tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dlt").mkdir()
    secrets = tmp_path / ".dlt" / "secrets.toml"
    secrets.write_text('[sources.usercom]\napi_key = "x"\n')
    secrets.chmod(0o644)
    server = sandbox(tickets=10)
    with caplog.at_level(logging.WARNING, logger="usercom.load"):
        run_job(tmp_path / "data", transform=False, source_overrides={"api_key": SANDBOX_API_KEY, "base_url": server.base_url})
    assert "secrets.toml can be read by other users" in caplog.text and "chmod 600" in caplog.text
    assert "x\"" not in caplog.text


def test_sandbox_binds_to_loopback_by_default_and_says_so(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.sandbox", "--tickets", "10", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "http://127.0.0.1:" in line and "bound to 127.0.0.1 only" in line
    refused = cli("sandbox", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode != 0 and "127.0.0.1" in refused.stderr
