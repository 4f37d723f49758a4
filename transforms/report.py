"""The headline SLA table for the terminal, read from the built mart ``rpt_sla_by_priority``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from transforms.models import SCHEMA

_COLUMNS = [
    # header, mart column, format
    ("priority", "priority_name", "{}"),
    ("target h", "sla_target_hours", "{:g}"),
    ("open", "tickets_open", "{:d}"),
    ("overdue", "tickets_overdue", "{:d}"),
    ("closed", "tickets_closed", "{:d}"),
    ("on-time", "on_time_rate", "{:.0%}"),
    ("breach", "breach_rate", "{:.0%}"),
    ("median h", "median_resolution_hours", "{:.1f}"),
    ("p90 h", "p90_resolution_hours", "{:.1f}"),
]


class MartsNotBuilt(RuntimeError):
    """The database has no built marts yet."""


def render_sla_report(database: Path) -> str:
    """The SLA table by priority (open, overdue, closed, on-time and breach rates, median and p90
    hours to first close) over the tickets created up to the last build's as_of, as plain text.

    Opens ``database`` read-only. Priorities without tickets are left out; "-" marks a rate or
    duration with nothing to measure. Raises :class:`MartsNotBuilt` before the first build.
    """
    if not Path(database).exists():
        raise MartsNotBuilt(f"{database} does not exist: run the pipeline, then build the transforms")
    select_list = ", ".join(column for _, column, _ in _COLUMNS)
    con = duckdb.connect(str(database), read_only=True)
    try:
        as_of = con.execute(f"select strftime(timezone('UTC', as_of), '%Y-%m-%d %H:%M') from {SCHEMA}.policy").fetchone()[0]
        rows = con.execute(
            f"select {select_list} from {SCHEMA}.rpt_sla_by_priority where tickets_created > 0 "
            "order by priority_id = -1, priority_order nulls last, priority_name"
        ).fetchall()
    except duckdb.CatalogException as err:
        raise MartsNotBuilt(f"{database} has no SLA marts yet: build the transforms first") from err
    finally:
        con.close()

    header = [h for h, _, _ in _COLUMNS]
    body = [[_cell(value, fmt) for value, (_, _, fmt) in zip(row, _COLUMNS)] for row in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:]))]).rstrip()

    lines = [f"SLA by priority, tickets created up to {as_of} UTC", line(header), line(["-" * w for w in widths])]
    lines += [line(r) for r in body] or ["(no tickets)"]
    return "\n".join(lines)


def _cell(value: object, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
