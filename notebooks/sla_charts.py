"""Conventions shared by the SLA notebooks: where the marts are (the BI snapshot by default), a read-only
connection to them, hours as the report prints them, and charts drawn headless (matplotlib's Agg backend)
that must carry a title and labelled axes, the nightly job's among them.

Charts are plain ``Figure`` objects (no pyplot state) shown as exactly one PNG each, the same in
Jupyter, in nbclient and in the HTML report.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")

from IPython.display import Image, display  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DATABASE_ENV = "USERCOM_SLA_DATABASE"
DEFAULT_DATABASE = "data/analytics.duckdb"  # the published BI snapshot: whole while the nightly job builds the next one
COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#8c564b", "#e377c2"]
OK_COLOR, FAILED_COLOR, LOADED_COLOR = "#1f77b4", "#d62728", "#2ca02c"
FAILED_LABEL = "failed or interrupted"
HOUR_TICKS = [1, 2, 4, 8, 24, 72, 168, 336, 720, 2160, 8760]  # 1 h to a year, the SLA targets among them
MAX_RUN_LABELS = 12


def database_path(value: str | os.PathLike | None = None) -> Path:
    """The DuckDB file to read: ``value``, else $USERCOM_SLA_DATABASE, else data/analytics.duckdb (the BI
    snapshot); a relative path is read from the repository root, wherever the notebook runs."""
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


def hours(value) -> str:
    """Hours as the report prints them: ``4 h`` when whole, else one decimal (``4.5 h``); ``-`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{round(value)} h" if math.isclose(value, round(value), abs_tol=1e-9) else f"{value:.1f} h"


def log_hours_axis(ax) -> None:
    """The y axis in hours, logarithmic above 1 h (linear below, from 0, when something is shorter), ticked at
    1, 2, 4, 8, 24, 72, 168 ... h (labelled ``24 h``): no ``0`` or ``10^n`` ticks. Call it after drawing: the
    axis starts at the tick below the shortest value and its top is doubled for headroom."""
    ax.set_yscale("symlog", linthresh=1)
    low, top = ax.dataLim.y0, ax.get_ylim()[1] * 2
    ax.set_ylim(max([t for t in HOUR_TICKS if t <= low], default=0), top)
    ax.yaxis.set_major_locator(FixedLocator([t for t in HOUR_TICKS if t <= top]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: hours(value)))
    ax.yaxis.set_minor_locator(NullLocator())


def runs_chart(con: duckdb.DuckDBPyConnection) -> tuple[Figure, str]:
    """The nightly job from ``rpt_runs``: one bar per logged run in the order they started (run time above,
    tickets loaded below), failed and interrupted runs red on a shaded band, and one line saying so.

    The axis holds the runs there are, each its own slot labelled by its start (UTC): a rerun minutes after
    a failed night would be a sliver on a calendar axis.
    """
    runs = con.sql("select started_at, outcome, seconds, tickets_loaded from rpt_runs order by started_at, run_id").df()
    failed = (runs.outcome != "ok").tolist()
    slots = list(range(len(runs)))
    fig, (duration, loaded) = figure(height=5.5, nrows=2, sharex=True)
    duration.bar(slots, runs.seconds, width=0.8, color=[FAILED_COLOR if f else OK_COLOR for f in failed])
    loaded.bar(slots, runs.tickets_loaded, width=0.8, color=[FAILED_COLOR if f else LOADED_COLOR for f in failed])
    for ax in (duration, loaded):
        for slot in (s for s, f in zip(slots, failed, strict=True) if f):
            ax.axvspan(slot - 0.5, slot + 0.5, color=FAILED_COLOR, alpha=0.15, zorder=0)
    loaded.set_xlim(-0.6, max(len(runs), 1) - 0.4)
    starts = [t.tz_convert("UTC") if t.tzinfo else t.tz_localize("UTC") for t in runs.started_at]
    shown = slots[::max(1, math.ceil(len(slots) / MAX_RUN_LABELS))]
    fmt, day = _start_format(starts)
    loaded.set_xticks(shown, [f"{starts[s]:{fmt}}" for s in shown])
    axis = f"Run, by its start (UTC{', ' + day if day else ''})"
    duration.set(title="Run time of each run", xlabel=axis, ylabel="Run time (s)")
    loaded.set(title="Tickets loaded by each run (new or changed)", xlabel=axis, ylabel="Tickets loaded (count)")
    duration.legend(handles=[Patch(color=OK_COLOR, label="ok"), Patch(color=FAILED_COLOR, label=FAILED_LABEL)],
                    loc="upper left")
    nights = sorted({t.date() for t in starts})
    bad = sorted({starts[s].date() for s in slots if failed[s]})
    line = (f"{len(runs)} run(s) logged over {len(nights)} night(s); nights with a failed or interrupted run: "
            f"{', '.join(night.isoformat() for night in bad) or 'none'}")
    return fig, line


def _start_format(starts: list) -> tuple[str, str | None]:
    """How to label run starts: times of day when all are on one UTC day (returned as the second item), else dates."""
    if starts and all(t.date() == starts[0].date() for t in starts):
        return "%H:%M:%S", f"{starts[0]:%Y-%m-%d}"
    if starts and all(t.year == starts[0].year for t in starts):
        return "%b %d %H:%M", None
    return "%Y-%m-%d %H:%M", None
