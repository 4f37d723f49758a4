"""The HTML report explains itself and every build says when it was made, on the shared data directory of
three real runs (tests/conftest.py `nightly_data`: one failed, two ok, the last building the marts): the
report, rendered by notebooks/render_report.py with its defaults while a writer holds tickets.duckdb, says
what on-time and breach mean, prints targets in whole hours and draws one bar per run with the failed one
marked; the terminal report ends with the same two definitions; the mart, the BI snapshot and build.json
agree on the build's as_of and start."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from matplotlib.colors import to_hex

from pipelines.sandbox.generate import DEFAULT_NOW
from tests.test_http_contract import cli

ROOT = Path(__file__).resolve().parents[1]
RENDER = [sys.executable, "notebooks/render_report.py"]


def sla_charts():
    """notebooks/sla_charts.py, the module the notebook draws its charts with (notebooks/ is no package)."""
    spec = importlib.util.spec_from_file_location("sla_charts", ROOT / "notebooks" / "sla_charts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(data: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RENDER, "--out-dir", str(out), *options], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, env={**os.environ, "USERCOM_DATA_DIR": str(data)})


def words(page: str) -> str:
    """The report's text as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def report(nightly_data, tmp_path_factory) -> str:
    """The HTML report rendered with the defaults (no --database) while a writer holds tickets.duckdb, as the
    nightly job does while it loads; the same file asked for by name fails meanwhile."""
    out = tmp_path_factory.mktemp("report")
    with duckdb.connect(str(nightly_data / "tickets.duckdb")):  # read-write: DuckDB locks the file for other processes
        by_default = render(nightly_data, out / "default")
        locked = render(nightly_data, out / "locked", "--database", str(nightly_data / "tickets.duckdb"))
    assert locked.returncode == 1 and "tickets.duckdb" in locked.stderr and "lock" in locked.stderr.lower()
    assert by_default.returncode == 0, by_default.stderr
    assert by_default.stdout.strip().endswith(f"charts from {nightly_data / 'analytics.duckdb'})")
    return (out / "default" / "sla_overview.html").read_text(encoding="utf-8")


def snapshot_rows(data: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def test_report_says_what_on_time_and_breach_mean_beside_them(report):
    text = words(report)
    assert "On time is about the due date someone set on the ticket" in text
    assert "Breached is about the SLA target of the ticket's priority" in text
    headline = text[text.index("Headline by priority"):text.index("Backlog over time by priority")]
    assert "On time : of the closed tickets that had a due date, the share first closed by it" in headline
    assert "the share that went past the priority's SLA target" in headline
    assert "on time: closed by due date (%)" in headline and "breached: past SLA target (%)" in headline
    agents = text[text.index("On-time and breach rate by agent"):text.index("Worst-served customers")]
    assert "closed by the ticket's due date" in agents and "past the priority's SLA target" in agents


def test_report_prints_targets_in_whole_hours(report, nightly_data):
    targets = snapshot_rows(nightly_data, "select priority_name, sla_target_hours from rpt_sla_by_priority "
                                          "where tickets_created > 0")
    assert {hours for _, hours in targets} == {4.0, 24.0, 72.0, 168.0}  # the packaged policy's
    for name, hours in targets:  # the headline table's row: the priority, then its target
        assert re.search(rf"<th>{re.escape(html.escape(name))}</th>\s*<td>{hours:.0f} h</td>", report), name
    assert not re.search(r"<td>(4|24|72|168)\.0</td>", report)


def test_run_chart_has_one_bar_per_run_with_the_failed_run_marked(report, nightly_data):
    sla = sla_charts()
    runs = snapshot_rows(nightly_data, "select started_at, outcome from rpt_runs order by started_at, run_id")
    assert [outcome for _, outcome in runs] == ["failed", "ok", "ok"]
    with sla.connect(nightly_data / "analytics.duckdb") as con:
        fig, line = sla.runs_chart(con)
    duration, loaded = fig.axes
    for ax in (duration, loaded):
        (bars,) = ax.containers
        assert len(bars) == len(runs)
        red = [to_hex(bar.get_facecolor()) == sla.FAILED_COLOR for bar in bars]
        assert red == [True, False, False]
        low, high = ax.get_xlim()
        assert low < 0 and len(runs) - 1 < high < len(runs)  # the runs there are, nothing beside them
    assert [t.get_text() for t in duration.get_legend().get_texts()] == ["ok", "failed or interrupted"]
    assert len(loaded.get_xticklabels()) == len(runs)
    night = runs[0][0].date().isoformat()
    assert line == f"3 run(s) logged over {len({t.date() for t, _ in runs})} night(s); " \
                   f"nights with a failed or interrupted run: {night}"
    assert line in words(report)


def test_hour_axes_tick_in_whole_hours_without_a_zero(nightly_data):
    sla = sla_charts()
    with sla.connect(nightly_data / "analytics.duckdb") as con:
        hours = [h for (h,) in con.execute("select first_resolution_hours from fct_tickets "
                                           "where first_resolution_hours is not null").fetchall()]
    fig, ax = sla.figure()
    box = ax.boxplot([hours], whis=(5, 95), showfliers=False)
    sla.log_hours_axis(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels and all(re.fullmatch(r"\d+ h", label) for label in labels)  # no "0", no 10^n
    lowest = min(min(whisker.get_ydata()) for whisker in box["whiskers"])  # the 5th percentile
    assert ax.get_ylim()[0] == max([t for t in sla.HOUR_TICKS if t <= lowest], default=0)  # the tick below it
    assert {"4 h", "24 h", "72 h"} <= set(labels)
    assert [sla.hours(v) for v in (4.0, 168.0, 4.5, None, float("nan"))] == ["4 h", "168 h", "4.5 h", "-", "-"]


def test_build_carries_its_as_of_clock_and_start_in_the_mart_the_snapshot_and_build_json(nightly_data):
    published = nightly_data / ".published" / "current"
    info = json.loads((published / "build.json").read_text())
    [(as_of, clock, built_at)] = snapshot_rows(nightly_data, "select as_of, sla_clock, built_at from rpt_helpdesk_summary")
    with duckdb.connect(str(nightly_data / "tickets.duckdb"), read_only=True) as con:  # the warehouse says the same
        assert con.execute("select as_of, sla_clock, built_at from analytics.rpt_helpdesk_summary").fetchall() == \
            [(as_of, clock, built_at)]
    assert as_of == DEFAULT_NOW and clock == "calendar"  # demo's as_of: the sandbox's now
    assert (info["as_of"], info["built_at"]) == (as_of.isoformat(), built_at.isoformat())
    [(last_run_started,)] = snapshot_rows(nightly_data, "select max(started_at) from rpt_runs")
    # the build started after the run that made it started, and before it was published
    assert last_run_started < built_at < datetime.fromisoformat(info["published_at"])


def test_text_report_ends_with_what_on_time_and_breach_mean(nightly_data):
    report = cli("report", "--data-dir", str(nightly_data))
    assert report.returncode == 0, report.stderr
    legend = report.stdout.rstrip("\n").split("\n\n")[-1].splitlines()
    assert legend == ["on-time: first closed by its due date, of the closed tickets with a due date",
                      "breach:  past its priority's SLA target, of tickets with a known SLA outcome"]
    assert report.stdout.split("\n\n")[1].splitlines()[4].split()[:2] == ["Urgent", "4"]  # its target, in whole hours
