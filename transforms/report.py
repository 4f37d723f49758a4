"""The headlines for the terminal: the helpdesk at as_of (``rpt_helpdesk_summary``), then the SLA table by
priority (``rpt_sla_by_priority``) with the clock its breach column runs on (``int_sla_policy``, in ``analytics_internal``)."""

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
_NOW_COLUMNS = [  # the backlog at as_of: header, rpt_helpdesk_summary column
    ("open", "open_tickets"), ("unassigned", "unassigned_open_tickets"), ("overdue", "overdue_tickets"),
    ("past SLA", "breached_open_tickets"),
]
_FLOW_COLUMNS = [  # what happened in the last days: header, column (of the days given)
    ("created", "created_last_{}_days"), ("closed", "closed_last_{}_days"), ("reopened", "reopened_last_{}_days"),
    ("deleted", "deleted_last_{}_days"), ("SLA breached", "breached_last_{}_days"),
]
_FLOW_DAYS = (7, 30)
_LEGEND = [  # what the two rates mean, under the table: one is the due date's verdict, the other the SLA's
    "on-time: first closed by its due date, of the closed tickets with a due date",
    "breach:  past its priority's SLA target, of tickets with a known SLA outcome",
]
_BUSINESS_COLUMNS = [  # shown when the build had a business-hours schedule
    ("median bh", "median_resolution_business_hours", "{:.1f}"),
    ("p90 bh", "p90_resolution_business_hours", "{:.1f}"),
]


class MartsNotBuilt(TransformError):
    """The destination has no built marts yet."""


def render_sla_report(pipeline: dlt.Pipeline) -> str:
    """The helpdesk at the last build's as_of (open, unassigned, overdue and past-SLA tickets; created,
    closed, reopened, deleted and breached in the last 7 and 30 days), then the SLA table by priority
    (open, overdue, closed, on-time and breach rates, median and p90 hours to first close, and in business
    hours when the build had a schedule) over the tickets created up to then, as plain text, with the
    clock the breach column runs on, and last what the on-time and breach rates mean.

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
            policy = ("select as_of, sla_clock, business_hours_timezone "
                      f"from {warehouse.INTERNAL_SCHEMA}.int_sla_policy")
            (as_of, clock, time_zone), = query(policy)[1]
            flows = [column.format(days) for days in _FLOW_DAYS for _, column in _FLOW_COLUMNS]
            summary = ", ".join([column for _, column in _NOW_COLUMNS] + flows)
            (headlines,) = query(f"select {summary} from {schema}.rpt_helpdesk_summary")[1]
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
    as_of = as_of.astimezone(timezone.utc)
    return "\n\n".join([_summary(as_of, headlines), _table(as_of, _clock_line(clock, time_zone), columns, rows),
                        "\n".join(_LEGEND)])


def _summary(as_of: datetime, headlines: tuple) -> str:
    """The one row of rpt_helpdesk_summary as two small tables: the backlog now, and the last 7 and 30 days."""
    now = len(_NOW_COLUMNS)
    backlog = _aligned([["tickets", *(h for h, _ in _NOW_COLUMNS)], ["at as_of", *(str(v) for v in headlines[:now])]])
    flows, width = headlines[now:], len(_FLOW_COLUMNS)
    recent = _aligned([["tickets", *(h for h, _ in _FLOW_COLUMNS)],
                       *([f"last {days} days", *(str(v) for v in flows[i * width:(i + 1) * width])]
                         for i, days in enumerate(_FLOW_DAYS))])
    return "\n".join([f"Helpdesk at {as_of:%Y-%m-%d %H:%M} UTC", *backlog, *recent])


def _aligned(rows: list[list[str]], *, rule: bool = False) -> list[str]:
    """Rows of cells as lines: the first column left-aligned, the others right-aligned, two spaces apart;
    ``rule``: a line of dashes under the first row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    if rule:
        rows = [rows[0], ["-" * w for w in widths], *rows[1:]]
    return ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]).rstrip()
            for r in rows]


def _clock_line(clock: str, time_zone: str | None) -> str:
    """Which clock the breach column (and the targets) run on; where the business-hours columns come from."""
    if clock == "business":
        return f"breach: on the business clock, {time_zone} opening hours (targets in business hours; bh = business hours)"
    schedule = f"; bh = business hours, {time_zone} opening hours" if time_zone else ""
    return f"breach: on the calendar clock (targets in calendar hours{schedule})"


def _table(as_of: datetime, clock_line: str, columns: list[tuple[str, str, str]], rows: list[tuple]) -> str:
    header = [h for h, _, _ in columns]
    body = [[_cell(value, fmt) for value, (_, _, fmt) in zip(row, columns, strict=True)] for row in rows]
    lines = [f"SLA by priority, tickets created up to {as_of:%Y-%m-%d %H:%M} UTC", clock_line,
             *_aligned([header, *body], rule=True)]
    if not body:
        lines.append("(no tickets)")
    return "\n".join(lines)


def _cell(value: object, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
