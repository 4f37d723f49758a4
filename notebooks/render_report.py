"""Run the SLA notebook headless and write it as an HTML report: what `make report` does.

    python notebooks/render_report.py [--database FILE] [--out-dir DIR]

Defaults: the BI snapshot `analytics.duckdb` (the last published build, whole while a run builds the next
one and readable while a run holds `tickets.duckdb`) and `reports/` in the data directory (USERCOM_DATA_DIR
or ./data, as for `usercom-tickets`); `--database` reads another DuckDB file with the marts, such as
`tickets.duckdb`. The report leaves the code cells out (the notebook has them). The HTML is written to a
temporary file and moved into place, so a failed cell leaves the previous report whole.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from traitlets.config import Config

from pipelines.bi_publish import BI_FILE

NOTEBOOK = Path(__file__).resolve().parent / "sla_overview.ipynb"
DATABASE_ENV = "USERCOM_SLA_DATABASE"  # the notebook's parameter (notebooks/sla_charts.py)


def execute(notebook: Path, database: Path) -> nbformat.NotebookNode:
    """The notebook executed with the venv's python3 kernel against ``database``; raises
    ``CellExecutionError`` on the first failing cell."""
    nb = nbformat.read(notebook, as_version=4)
    # Curve-encrypted kernel sockets when the kernel supports them (ipykernel 7.4+ warns otherwise)
    config = Config({"KernelManager": {"transport_encryption": "auto"}})
    client = NotebookClient(nb, kernel_name="python3", config=config, resources={"metadata": {"path": str(notebook.parent)}})
    client.execute(env={**os.environ, DATABASE_ENV: str(database)})
    return nb


def count_charts(nb: nbformat.NotebookNode) -> int:
    """Image outputs of the executed notebook (each chart is exactly one PNG)."""
    return sum("image/png" in output.get("data", {}) for cell in nb.cells for output in cell.get("outputs", []))


def write_report(nb: nbformat.NotebookNode, target: Path) -> Path:
    """``nb`` as HTML without code cells at ``target``, replaced atomically."""
    html, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".html.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.chmod(name, 0o644)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help=f"DuckDB file with the marts (default: <data dir>/{BI_FILE}, the BI snapshot)")
    parser.add_argument("--out-dir", help="folder for sla_overview.html (default: <data dir>/reports)")
    args = parser.parse_args(argv)
    if not (args.database and args.out_dir):
        from pipelines.job.pipeline import data_dir

        directory = data_dir()
    database = Path(args.database).absolute() if args.database else directory / BI_FILE
    out_dir = Path(args.out_dir).absolute() if args.out_dir else directory / "reports"
    if not database.exists():
        print(f"error: no marts at {database}: run `make demo` or `usercom-tickets run` first, or pass --database",
              file=sys.stderr)
        return 1
    try:
        nb = execute(NOTEBOOK, database)
    except CellExecutionError as error:
        print(f"error: {NOTEBOOK.name} failed on {database}: {error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    target = write_report(nb, out_dir / f"{NOTEBOOK.stem}.html")
    print(f"SLA report: {target} ({count_charts(nb)} charts from {database})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
