"""The headline SLA table for the terminal, read from the built mart ``rpt_sla_by_priority``, with the clock
its breach column runs on (``int_sla_policy``)."""

from __future__ import annotations

from datetime import datetime, timezone

import dlt

from transforms import warehouse
from transforms.errors import TransformError

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
_BUSINESS_COLUMNS = [  # shown when the build had a business-hours schedule
    ("median bh", "median_resolution_business_hours", "{:.1f}"),
    ("p90 bh", "p90_resolution_business_hours", "{:.1f}"),
]


class MartsNotBuilt(TransformError):
    """The destination has no built marts yet."""


def render_sla_report(pipeline: dlt.Pipeline) -> str:
    """The SLA table by priority (open, overdue, closed, on-time and breach rates, median and p90
    hours to first close, and in business hours when the build had a schedule) over the tickets created
    up to the last build's as_of, as plain text, with the clock the breach column runs on.

    Reads the marts where the pipeline's destination holds them (a local DuckDB file read-only).
    Priorities without tickets are left out; "-" marks a rate or duration with nothing to measure.
    Raises :class:`MartsNotBuilt` before the first build.
    """
    path = warehouse.duckdb_path(pipeline)
    if path is not None and not path.exists():
        raise MartsNotBuilt(f"{path} does not exist: run the pipeline, then build the transforms")
    schema = warehouse.MARTS_SCHEMA
    try:
        with warehouse.read_only_cursor(pipeline) as query:
            policy = f"select as_of, sla_clock, business_hours_timezone from {schema}.int_sla_policy"
            (as_of, clock, time_zone), = query(policy)[1]
            columns = _COLUMNS + (_BUSINESS_COLUMNS if time_zone else [])
            select_list = ", ".join(column for _, column, _ in columns)
            rows = query(
                f"select {select_list} from {schema}.rpt_sla_by_priority where tickets_created > 0 "
                "order by case when priority_id = -1 then 1 else 0 end, priority_order nulls last, priority_name"
            )[1]
    except MartsNotBuilt:
        raise
    except Exception as err:  # noqa: BLE001 (each engine has its own "no such table" error)
        raise MartsNotBuilt(f"no SLA marts on the {warehouse.destination_type(pipeline)} destination yet: "
                            "build the transforms first (usercom-tickets transform)") from err
    return _table(as_of.astimezone(timezone.utc), _clock_line(clock, time_zone), columns, rows)


def _clock_line(clock: str, time_zone: str | None) -> str:
    """Which clock the breach column (and the targets) run on; where the business-hours columns come from."""
    if clock == "business":
        return f"breach: on the business clock, {time_zone} opening hours (targets in business hours; bh = business hours)"
    schedule = f"; bh = business hours, {time_zone} opening hours" if time_zone else ""
    return f"breach: on the calendar clock (targets in calendar hours{schedule})"


def _table(as_of: datetime, clock_line: str, columns: list[tuple[str, str, str]], rows: list[tuple]) -> str:
    header = [h for h, _, _ in columns]
    body = [[_cell(value, fmt) for value, (_, _, fmt) in zip(row, columns, strict=True)] for row in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]).rstrip()

    lines = [f"SLA by priority, tickets created up to {as_of:%Y-%m-%d %H:%M} UTC", clock_line, line(header),
             line(["-" * w for w in widths])]
    lines += [line(r) for r in body] or ["(no tickets)"]
    return "\n".join(lines)


def _cell(value: object, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
