"""Conventions shared by the SLA notebooks: where the marts are, a read-only connection to them, and
charts drawn headless (matplotlib's Agg backend) that must carry a title and labelled axes.

Charts are plain ``Figure`` objects (no pyplot state) shown as exactly one PNG each, the same in
Jupyter, in nbclient and in the HTML report.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")

from IPython.display import Image, display  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DATABASE_ENV = "USERCOM_SLA_DATABASE"
DEFAULT_DATABASE = "data/tickets.duckdb"
COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#8c564b", "#e377c2"]


def database_path(value: str | os.PathLike | None = None) -> Path:
    """The DuckDB file to read: ``value``, else $USERCOM_SLA_DATABASE, else data/tickets.duckdb;
    a relative path is read from the repository root, wherever the notebook runs."""
    path = Path(value or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def connect(value: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection on which the marts are plain names (``select * from fct_tickets``).

    Works on ``tickets.duckdb`` (marts in schema analytics) and on the BI snapshot
    ``analytics.duckdb`` (marts only). Times come back in UTC.
    """
    path = database_path(value)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make demo` or `usercom-tickets run` first, "
                                f"or point {DATABASE_ENV} at a DuckDB file holding the marts")
    con = duckdb.connect(str(path), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    [(database, has_schema)] = con.execute(
        "select current_database(), count(*) > 0 from duckdb_schemas() "
        "where database_name = current_database() and schema_name = 'analytics'"
    ).fetchall()
    con.execute(f"""set search_path = '"{database}".{"analytics" if has_schema else "main"}'""")
    return con


def colors_for(names) -> dict[str, str]:
    """One stable color per name, in the order given (priorities keep their color across charts)."""
    return {name: COLORS[i % len(COLORS)] for i, name in enumerate(names)}


def figure(width: float = 9, height: float = 4.5, **subplots) -> tuple[Figure, object]:
    """A new figure and its axes (``fig.subplots(**subplots)``), sized for the report."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(**subplots)


def show(fig: Figure) -> None:
    """Display ``fig`` as one PNG, after checking it has a title and every axis a label."""
    titled = bool(fig.get_suptitle()) or all(ax.get_title() for ax in fig.axes)
    unlabelled = [i for i, ax in enumerate(fig.axes) if not ax.get_xlabel() or not _has_ylabel(ax)]
    if not titled or unlabelled:
        raise ValueError(f"chart needs a title and labelled axes (title: {titled}, unlabelled axes: {unlabelled})")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display(Image(data=buffer.getvalue(), format="png"))


def _has_ylabel(ax) -> bool:
    """A y label, or a y axis shared with the labelled first axes of the figure."""
    first = ax.figure.axes[0]
    return bool(ax.get_ylabel()) or (ax is not first and ax.get_shared_y_axes().joined(ax, first) and bool(first.get_ylabel()))
