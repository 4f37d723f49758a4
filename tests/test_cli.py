"""The command line end to end, in fresh processes as a scheduler would run it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb

from pipelines.sandbox import SANDBOX_API_KEY
from tests.test_http_contract import cli


def test_demo_loads_the_sandbox_builds_the_marts_and_prints_the_sla_report(tmp_path):
    result = cli("demo", "--tickets", "800", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "800 tickets loaded (800 new" in result.stdout
    assert "data tests passed" in result.stdout and "SLA by priority" in result.stdout
    with duckdb.connect(str(tmp_path / "data" / "tickets.duckdb"), read_only=True) as con:
        marts = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'analytics' AND table_type = 'BASE TABLE'").fetchall()]
        assert {"fct_tickets", "agg_sla_by_priority", "rpt_backlog_daily"} <= set(marts)
        assert all(con.execute(f"SELECT count(*) FROM analytics.{m}").fetchall()[0][0] > 0 for m in marts)
        assert con.execute("SELECT count(*) FROM analytics.fct_tickets").fetchall() == [(800,)]
    assert (tmp_path / "data" / "marts" / "fct_tickets.parquet").exists()


def test_run_then_report_and_transform_with_a_pinned_as_of(sandbox, tmp_path):
    server = sandbox(tickets=300)
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url}
    data = str(tmp_path / "data")
    assert cli("run", "--data-dir", data, "--as-of", "2024-06-01T00:00:00Z", env=env).returncode == 0
    report = cli("report", "--data-dir", data)
    assert report.returncode == 0 and "2024-06-01 00:00 UTC" in report.stdout
    rebuilt = cli("transform", "--data-dir", data, "--as-of", "2024-05-01T00:00:00Z")
    assert rebuilt.returncode == 0 and "as of 2024-05-01T00:00:00+00:00" in rebuilt.stdout
    bad = cli("transform", "--data-dir", data, "--as-of", "yesterday")
    assert bad.returncode == 2 and "not an ISO 8601 timestamp" in bad.stderr


def test_report_before_any_run_says_what_to_do(tmp_path):
    result = cli("report", "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 6 and result.stderr.startswith("error: ")
    assert "run `usercom-tickets run`" in result.stderr and "Traceback" not in result.stderr


def test_dlt_telemetry_is_off_unless_the_user_turns_it_on(sandbox, tmp_path):
    # dlt's telemetry endpoint pointed at a local recorder: a run posts nothing to it unless the user asks for it
    posted = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posted.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    recorder = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    try:
        server = sandbox(tickets=30)
        env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
               "RUNTIME__DLTHUB_TELEMETRY_ENDPOINT": f"http://127.0.0.1:{recorder.server_address[1]}"}
        quiet = cli("run", "--no-transform", "--data-dir", str(tmp_path / "data"), env=env)
        assert quiet.returncode == 0, quiet.stderr
        assert posted == []
        asked = cli("run", "--no-transform", "--data-dir", str(tmp_path / "data"),
                    env={**env, "RUNTIME__DLTHUB_TELEMETRY": "true"})
        assert asked.returncode == 0, asked.stderr
        assert posted  # the user's setting wins, and the recorder does see dlt's events
    finally:
        recorder.shutdown()
        recorder.server_close()
