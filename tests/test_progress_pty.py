"""The live bars as a person sees them: the real `usercom-tickets run` in a pseudo-terminal of 80 and 160 columns,
against a sandbox that answers every page after a known latency, its screen read back by a terminal emulator."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyte
import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from tests.conftest import query
from tests.test_progress import read_terminal

LATENCY_MS = 300  # above the parse batch's 0.25 s: every page is counted as it arrives
PAGE_SIZE = 20
TICKETS = 400
ROWS = 50
ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>])")
BAR = re.compile(r"^(?P<listing>active|closed|archived|draft)\s+(?:[━╸╺]+\s+)?(?P<done>\d+)(?:/(?P<total>\d+))? tickets"
                 r"(?:\s+(?P<pages>\d+) pages)?(?:\s+(?P<rate>[\d,]+) tickets/s)?(?:\s+throttled \d+×)?"
                 r"(?:\s+\d+:\d\d:\d\d)?\s+ETA (?:\d+:\d\d:\d\d|-:--:--)$")


def run_on_screen(columns: int, args: list[str], env: dict, cwd: Path) -> tuple[int, str, list[list[str]]]:
    """Runs the command line on a pseudo-terminal `columns` wide; returns its exit code, its output as written
    and the screen after each piece of it (as a VT100 terminal shows it)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], stdin=terminal, stdout=terminal,
                               stderr=terminal, cwd=cwd, env={**environment, "TERM": "xterm-256color", **env})
    os.close(terminal)
    screen = pyte.Screen(columns, ROWS)
    stream = pyte.ByteStream(screen)
    snapshots = []

    def shown(chunk: bytes) -> None:
        stream.feed(chunk)
        snapshots.append([line.rstrip() for line in screen.display])

    output = read_terminal(controller, shown)
    return process.wait(timeout=120), output.decode("utf-8", errors="replace"), snapshots


def bars(lines: list[str]) -> list[re.Match]:
    """The bar lines on a screen (each must read whole: a cut or wrapped one matches nothing)."""
    return [m for m in (BAR.match(line) for line in lines) if m]


@pytest.mark.parametrize("columns", [80, 160])
def test_the_bars_move_with_every_page_at_an_honest_rate_and_fit_the_terminal(sandbox, tmp_path, columns):
    server = sandbox(tickets=TICKETS, page_size=PAGE_SIZE, latency_ms=LATENCY_MS)
    code, output, snapshots = run_on_screen(columns, ["run", "--no-transform", "--data-dir", str(tmp_path / "data")],
                                            cwd=tmp_path, env={"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY,
                                                               "SOURCES__USERCOM__BASE_URL": server.base_url})
    assert code == 0, output[-3000:]
    counts = {s: sum(t["status"] == s for t in server.tickets()) for s in ("active", "closed", "archived", "draft")}

    # no line the bars (or the log lines above them) printed is wider than the terminal: none wrapped
    shown = ESCAPE.sub("", output.split("status      pages")[0])
    assert max(len(line) for line in re.split(r"[\r\n]", shown)) <= columns
    bar_lines = [line for screen in snapshots for line in screen if "━" in line]
    assert bar_lines and all(BAR.match(line) for line in bar_lines), [x for x in bar_lines if not BAR.match(x)][:5]
    assert "…" not in "".join(bar_lines)  # no number cut short

    # the final screen holds each listing's bar once, complete, and no stale one
    final = bars(snapshots[-1])
    assert sorted(m["listing"] for m in final) == sorted(counts)
    assert {m["listing"]: (int(m["done"]), int(m["total"])) for m in final} == {s: (n, n) for s, n in counts.items()}
    assert len([line for line in snapshots[-1] if "━" in line]) == len(counts)

    # counts move page by page: the biggest listing's bar shows most of its pages one by one
    biggest = max(counts, key=counts.get)
    seen = sorted({int(m["done"]) for screen in snapshots for m in bars(screen) if m["listing"] == biggest})
    pages = -(-counts[biggest] // PAGE_SIZE)
    assert len(seen) >= pages // 2, seen
    assert all(x % PAGE_SIZE == 0 or x == counts[biggest] for x in seen), seen
    for screen_before, screen_after in zip(snapshots, snapshots[1:], strict=False):  # never backwards
        before = {m["listing"]: int(m["done"]) for m in bars(screen_before)}
        after = {m["listing"]: int(m["done"]) for m in bars(screen_after)}
        assert all(after[x] >= before[x] for x in before.keys() & after.keys())

    # the rate is one that happened: one listing's pages come one after another, each after the latency; and no
    # rate is shown on a listing's first page
    most = PAGE_SIZE * 1000 / LATENCY_MS
    shown_rates = [(m, int(m["rate"].replace(",", ""))) for screen in snapshots for m in bars(screen) if m["rate"]]
    assert any(m["listing"] == biggest for m, _ in shown_rates)
    assert all(rate <= most + 1 for _, rate in shown_rates), max(rate for _, rate in shown_rates)
    assert not [m.group(0) for m, _ in shown_rates if int(m["done"]) <= PAGE_SIZE < int(m["total"] or 0)]

    # the narrow terminal drops the less important fields; the wide one has room for them
    assert all((m["pages"] is not None) == (columns >= 100) for m in final)
    assert query(tmp_path / "data", "SELECT count(*) FROM usercom.tickets") == [(TICKETS,)]
