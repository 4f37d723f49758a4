"""The SLA notebook, executed headless (nbclient, the venv's python3 kernel) on demo data built in a
temporary directory, and the HTML report `make report` renders from it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from tests.test_http_contract import cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "sla_overview.ipynb"
CHARTS = 7  # backlog, by status, time to first close, agents' rates, time in status, created vs closed per week, nightly runs
PNG_IMAGE = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,')


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("notebook") / "data"
    failed = cli("run", "--no-transform", "--data-dir", str(directory))  # no API key configured: a failed night
    assert failed.returncode == 4 and "Missing configuration api_key" in failed.stderr
    result = cli("demo", "--tickets", "600", "--data-dir", str(directory))
    assert result.returncode == 0, result.stderr
    return directory


def png_outputs(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def test_sla_notebook_runs_headless_on_the_demo_marts_with_the_venvs_kernel(demo_data, monkeypatch):
    database = demo_data / "tickets.duckdb"
    monkeypatch.setenv("USERCOM_SLA_DATABASE", str(database))  # the notebook's parameter, as `make report` sets it
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))  # which interpreter ran it
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})

    # Another reader holds the file: a notebook opening it read-write would fail on DuckDB's lock.
    with duckdb.connect(str(database), read_only=True):
        client.execute()  # raises CellExecutionError, failing the test, on any cell's error

    assert nb.cells.pop()["outputs"][0]["text"].strip() == sys.prefix
    assert f"SLA marts in {database}, as of 2024-06-01 00:00 UTC" in nb.cells[2]["outputs"][0]["text"]
    runs = next(cell for cell in nb.cells if cell.get("id") == "runs-01")["outputs"][0]["text"]
    with duckdb.connect(str(database), read_only=True) as con:  # runs are logged when they happen, whatever as_of
        (failed_night,) = con.execute("select run_day from analytics.rpt_runs where outcome = 'failed'").fetchone()
        (nights,) = con.execute("select count(distinct run_day) from analytics.rpt_runs").fetchone()
    assert runs.strip() == (f"2 run(s) logged over {nights} night(s); nights with a failed or interrupted run: "
                            f"{failed_night.isoformat()}")
    assert sum(png_outputs(cell) for cell in nb.cells) == CHARTS
    assert all(png_outputs(cell) <= 1 for cell in nb.cells)  # one image per chart, never a duplicate
    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o["output_type"] == "error" or o.get("name") == "stderr"]
    assert errors == []


def test_report_renders_every_chart_to_html_from_the_marts_only_snapshot(demo_data, tmp_path):
    # analytics.duckdb holds nothing but the marts: a notebook reading anything else would fail here
    snapshot = demo_data / "analytics.duckdb"
    result = subprocess.run(
        [sys.executable, "notebooks/render_report.py", "--database", str(snapshot), "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )

    assert result.returncode == 0, result.stderr
    report = tmp_path / "sla_overview.html"
    assert f"SLA report: {report} ({CHARTS} charts from {snapshot})" in result.stdout
    html = report.read_text(encoding="utf-8")
    assert len(PNG_IMAGE.findall(html)) == CHARTS
    assert "Overdue open tickets, oldest first" in html and "past their due date" in html
    assert "import sla_charts" not in html  # the report leaves the code out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sla_overview.html"]


def test_report_without_marts_says_what_to_do_and_writes_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "notebooks/render_report.py", "--database", str(tmp_path / "none.duckdb"),
         "--out-dir", str(tmp_path / "reports")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1 and result.stderr.startswith("error: no marts at")
    assert "make demo" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()


def test_notebook_is_committed_without_outputs_for_the_python3_kernel_with_a_reading_hint_per_chart():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert nb.metadata.kernelspec.name == "python3"
    assert "parameters" in code[0].metadata.get("tags", []) and "USERCOM_SLA_DATABASE" in code[0].source
    charts = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "sla.show(" in cell.source]
    assert len(charts) == CHARTS
    assert all("**What to look for:**" in nb.cells[i - 1].source for i in charts)
