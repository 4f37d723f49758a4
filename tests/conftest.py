"""Shared fixtures: the real sandbox API on 127.0.0.1, real pipeline runs into temporary data dirs, and a
real PostgreSQL server for the warehouse tests."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from pipelines.job import RunSummary, run_job
from pipelines.job.pipeline import DUCKDB_FILE
from pipelines.sandbox import SANDBOX_API_KEY, SandboxOptions, SandboxServer
from tests.postgres_server import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"

# Retrying fast keeps fault tests short; the bounds themselves are what the tests pin.
FAST_RETRY = {"backoff_base_seconds": 0.01, "max_total_wait_seconds": 20.0, "max_attempts": 6}


def pytest_configure(config):
    """No dlt telemetry from the test process's own runs: its DNS lookup can take minutes on a closed network
    (the command line turns it off itself, `run_setup.telemetry_off_unless_configured`)."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def seed_tickets() -> list[dict]:
    """The two tickets of the API reference's example response."""
    return json.loads((FIXTURES / "tickets_seed_response.json").read_text())["results"]


@pytest.fixture
def sandbox() -> Callable[..., SandboxServer]:
    """Starts sandbox servers with the given options; stops them after the test."""
    servers: list[SandboxServer] = []

    def start(**options) -> SandboxServer:
        server = SandboxServer(SandboxOptions(**options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """A PostgreSQL 15 server started for this test session (127.0.0.1, free port), stopped at its end."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory for one test."""
    return tmp_path / "data"


@pytest.fixture(scope="session")
def nightly_data(tmp_path_factory) -> Path:
    """A data directory as three nights leave it, made by the real command line: a run without an API key
    (failed), a run that loaded the sandbox's 600 tickets without building, and `demo`'s run that loaded them
    again and built and published the marts as of the sandbox's now. Shared: read it, never change it (a test
    that changes it works on a copy, `shutil.copytree(nightly_data, ..., symlinks=True)`)."""
    from tests.test_http_contract import cli

    directory = tmp_path_factory.mktemp("nightly") / "data"
    failed = cli("run", "--no-transform", "--data-dir", str(directory))  # no API key configured: a failed night
    assert failed.returncode == 4 and "Missing configuration api_key" in failed.stderr
    with SandboxServer(SandboxOptions(tickets=600)) as server:
        loaded = cli("run", "--no-transform", "--data-dir", str(directory),
                     env={"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert loaded.returncode == 0, loaded.stderr
    result = cli("demo", "--tickets", "600", "--data-dir", str(directory))
    assert result.returncode == 0, result.stderr
    assert f"BI snapshot of the marts: {directory / 'analytics.duckdb'}" in result.stdout
    return directory


@pytest.fixture(scope="session")
def schedules_on_duckdb(tmp_path_factory) -> Callable[[str], list[dict]]:
    """tests/test_schedules.py's hand-made tickets and policy (the Polish calendar of tests/test_calendars.py the
    default schedule, California's and around the clock named) built once on DuckDB, for the checks of both files:
    ``query(sql) -> [row dicts]``. Shared: read it, never change it."""
    from tests.test_schedules import built_on_duckdb

    return built_on_duckdb(tmp_path_factory.mktemp("schedules_duckdb"))


@pytest.fixture(scope="session")
def schedules_on_postgres(postgres, tmp_path_factory) -> Callable[[str], list[dict]]:
    """The same built once on the suite's PostgreSQL, in database `schedules`: one build for the checks of both
    files (they made three: the Polish and the Californian calendar, the schedules)."""
    from tests.test_schedules import built_on_postgres

    return built_on_postgres(postgres, tmp_path_factory.mktemp("schedules_postgres"))


def run(server: SandboxServer, directory: Path, **kwargs) -> RunSummary:
    """Runs the real job's extract and load (no marts) against `server`, with fast retries unless overridden."""
    overrides = {"api_key": SANDBOX_API_KEY, "base_url": server.base_url, **FAST_RETRY, **kwargs.pop("source", {})}
    return run_job(directory, source_overrides=overrides, transform=False, **kwargs).summary


def query(directory: Path, sql: str) -> list[tuple]:
    """Rows of a query on the data directory's DuckDB file (read-only)."""
    with duckdb.connect(str(directory / DUCKDB_FILE), read_only=True) as con:
        return con.execute(sql).fetchall()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    """Answers the request `handler` serves with `status` and the JSON `body`."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class ScriptedAPI:
    """A server on a loopback address that answers each path with a scripted page, and logs what it got."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, tuple[int, dict]] = {}
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                api.requests.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                status, body = api.pages.get(self.path.split("?")[0], (404, {"detail": "Not found."}))
                reply(self, status, json.dumps(body).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.base_url = self.url + "/api/public/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    """Starts scripted API servers on the given loopback address; stops them after the test."""
    servers = []

    def start(host: str = "127.0.0.1") -> ScriptedAPI:
        servers.append(ScriptedAPI(host))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def page(results, next_url=None, count=None):
    """A page of the API's envelope around `results`."""
    return {"count": len(results) if count is None else count, "next": next_url, "previous": None, "results": results}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a test that did not run: the suite is not green with one."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; every test must run", red=True)
        session.exitstatus = 1
