"""Live progress: bars per listing in a terminal (a real pseudo-terminal here), log lines in a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.sandbox import SANDBOX_API_KEY
from tests.conftest import query
from tests.test_http_contract import cli

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(args: list[str], env: dict, cwd: Path) -> tuple[int, str]:
    """Runs the command line with stdin, stdout and stderr on a pseudo-terminal; returns its exit code and output."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], stdin=terminal, stdout=terminal,
                               stderr=terminal, cwd=cwd, env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "140", **env})
    os.close(terminal)
    output = read_terminal(controller)
    return process.wait(timeout=120), output.decode("utf-8", errors="replace")


def read_terminal(controller: int, each_chunk: Callable[[bytes], None] = lambda chunk: None) -> bytes:
    """Everything written to the pseudo-terminal until its process closes it (`each_chunk` told each piece); closes it."""
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
        each_chunk(chunk)
    os.close(controller)
    return output


def test_a_run_in_a_terminal_shows_a_live_bar_per_listing_with_log_lines_above(sandbox, tmp_path):
    server = sandbox(tickets=3000, page_size=100, latency_ms=2, rate_limit_every=25, retry_after="0")
    code, output = run_in_terminal(["-v", "run", "--no-transform", "--data-dir", str(tmp_path / "data")], cwd=tmp_path, env={
        "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert code == 0, output
    text = ESCAPE.sub("", output)
    for status in ("active", "closed", "archived", "draft"):
        count = sum(t["status"] == status for t in server.tickets())
        assert re.search(rf"{status}\s.*{count}/{count}\s+tickets \d+ pages .*tickets/s", text), text[-3000:]
    assert "ETA" in text
    assert "retrying GET" in text and "HTTP 429" in text  # log lines still print, above the bars (retries at -v)
    assert "tickets so far" not in text  # the per-page log lines are what the bars replace
    assert "3000 tickets loaded" in text  # the summary is unchanged
    assert SANDBOX_API_KEY not in output
    assert query(tmp_path / "data", "SELECT count(*) FROM usercom.tickets") == [(3000,)]


def test_a_run_in_a_pipe_keeps_its_log_lines_and_prints_no_terminal_codes(sandbox, tmp_path):
    server = sandbox(tickets=600, page_size=100)
    result = cli("run", "--no-transform", "--data-dir", str(tmp_path / "data"), cwd=tmp_path, env={
        "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert result.returncode == 0, result.stderr
    assert re.search(r"INFO usercom.source: closed: \d+ pages, \d+ tickets so far", result.stderr)
    assert "\x1b[" not in result.stdout + result.stderr
    assert "600 tickets loaded" in result.stdout
