"""SLA and due-date marts on a small hand-made set of tickets, with every number worked out by hand.

The tickets are API-shaped dicts (as GET /tickets/ lists them, plus ``status_history``).
``write_raw_tables`` stands in for a pipeline run: it writes them as the raw tables the pipeline
produces (schema ``usercom``). as_of is pinned to 2024-03-15 12:00 UTC (a Friday).

Policy in these tests: High 8 h, Normal 24 h, Low 72 h, anything else 48 h; terminal closed and
archived; draft stops the clock.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import parquet_publish
from pipelines.job.pipeline import make_pipeline
from pipelines.marts_publish import publish_build
from pipelines.sandbox import SANDBOX_API_KEY
from tests.test_http_contract import cli
from transforms import dbt_runner
from transforms.build import build_marts
from transforms.catalog import PROJECT_DIR, load_mart_docs
from transforms.errors import DataTestFailed, ModelFailed, RawDataMissing
from transforms.policy import PolicyError, load_policy
from transforms.report import MartsNotBuilt, render_sla_report

FIXTURE = Path(__file__).parent / "fixtures" / "tickets_seed_response.json"
AS_OF = datetime(2024, 3, 15, 12, tzinfo=UTC)
LOADED_AT = "2024-03-16T12:00:00Z"  # when the pipeline saw the current versions

POLICY = """
as_of = 2024-03-15T12:00:00Z
terminal_statuses = ["closed", "archived"]
clock_stopping_statuses = ["draft"]
default_target_hours = 48

[target_hours]
High = 8
normal = 24
LOW = 72
"""

AVATAR = "http://some.user.com/static/img/agent.svg"
BOB = {"id": 1, "name": "Agent Bob", "avatar": AVATAR}
ALICE = {"id": 2, "name": "Agent Alice", "avatar": AVATAR}
CAROL = {"id": 3, "name": "Agent Carol", "avatar": AVATAR}
DAVE = {"id": 4, "name": "Agent Dave", "avatar": AVATAR}  # only ever seen in tickets_history
HIGH = {"id": 1, "name": "High", "order": 1}
NORMAL = {"id": 2, "name": "Normal", "order": 2}
LOW = {"id": 3, "name": "Low", "order": 3}
URGENT = {"id": 4, "name": "Urgent", "order": 0}  # only ever seen in tickets_history


def api_ticket(id, status, created_at, updated_at, *, due_date=None, assigned_to=None, author=BOB,
               priority=None, history=None, name=None):
    """A ticket as the API lists it; ``history`` is [(entered_at, status), ...] or None (no list)."""
    ticket = {
        "id": id,
        "status": status,
        "name": name or f"Ticket {id}",
        "description": "Ticket description",
        "created_at": created_at,
        "updated_at": updated_at,
        "due_date": due_date,
        "assigned_to": assigned_to,
        "person": None,
        "company": None,
        "priority": priority,
        "participants": [],
        "segments": [],
        "attachments": None,
        "author": author,
    }
    if history is not None:
        ticket["status_history"] = [{"entered_at": at, "status": st} for at, st in history]
    return ticket


TICKETS = [
    # 101 closed before its due date. 6 h to close; due 15 h after creation, closed 9 h early.
    # SLA High 8 h: breach at 17:00, closed 15:00 -> met. Closed 03-04 15:00 -> as_of = 261 h.
    api_ticket(101, "closed", "2024-03-04T09:00:00.000000Z", "2024-03-04T15:00:00.000000Z",
               due_date="2024-03-05T00:00:00Z", assigned_to=BOB, priority=HIGH,
               history=[("2024-03-04T09:00:00.000000Z", "active"), ("2024-03-04T15:00:00.000000Z", "closed")]),
    # 102 closed after its due date, every timestamp at +02:00: created 03-05 10:00Z, due 03-06 10:00Z,
    # closed 03-07 10:00Z -> 48 h, 24 h late. SLA Normal 24 h: breach 03-06 10:00Z -> breached.
    # Closed 03-07 10:00Z -> as_of = 8 d 2 h = 194 h.
    api_ticket(102, "closed", "2024-03-05T12:00:00.000000+02:00", "2024-03-07T12:00:00.000000+02:00",
               due_date="2024-03-06T12:00:00+02:00", assigned_to=ALICE, priority=NORMAL,
               history=[("2024-03-05T12:00:00.000000+02:00", "active"),
                        ("2024-03-07T12:00:00.000000+02:00", "closed")]),
    # 103 no due date: closed 12 h after creation. SLA Low 72 h: met. Closed 03-06 20:00 -> as_of = 208 h.
    api_ticket(103, "closed", "2024-03-06T08:00:00Z", "2024-03-06T20:00:00Z", assigned_to=ALICE, priority=LOW,
               history=[("2024-03-06T08:00:00Z", "active"), ("2024-03-06T20:00:00Z", "closed")]),
    # 104 reopened once, then archived: active 09-11, closed 11-13, active 13-19, closed 19:00 ->
    # 03-10 19:00 (72 h), archived to as_of (4 d 17 h = 113 h). First close 11:00 (2 h), last 19:00
    # (10 h); archiving is not a close. Due 03-08 09:00: on time, 22 h early. SLA High 8 h: breach
    # 17:00, first close 11:00 -> met.
    api_ticket(104, "archived", "2024-03-07T09:00:00Z", "2024-03-10T19:00:00Z",
               due_date="2024-03-08T09:00:00Z", assigned_to=BOB, priority=HIGH,
               history=[("2024-03-07T09:00:00Z", "active"), ("2024-03-07T11:00:00Z", "closed"),
                        ("2024-03-07T13:00:00Z", "active"), ("2024-03-07T19:00:00Z", "closed"),
                        ("2024-03-10T19:00:00Z", "archived")]),
    # 105 draft time stops the SLA clock: active 08-10 (2 h on the clock), draft 10-20 (stopped),
    # active from 20:00, 22 h more -> breach 03-09 18:00; closed 03-09 17:00 -> met (without the
    # pause the breach would be 03-09 08:00). First close 33 h; active 2 + 21 = 23 h, draft 10 h,
    # closed 03-09 17:00 -> as_of = 139 h. Due 03-10 00:00: 40 h target, closed 7 h early.
    api_ticket(105, "closed", "2024-03-08T08:00:00Z", "2024-03-09T17:00:00Z",
               due_date="2024-03-10T00:00:00Z", assigned_to=CAROL, author=ALICE, priority=NORMAL,
               history=[("2024-03-08T08:00:00Z", "active"), ("2024-03-08T10:00:00Z", "draft"),
                        ("2024-03-08T20:00:00Z", "active"), ("2024-03-09T17:00:00Z", "closed")]),
    # 106 open and overdue at as_of (it closes on 03-16, after as_of: that does not count yet).
    # Created 03-11 09:00 -> 99 h old; due 03-13 09:00 -> 51 h overdue. SLA Normal 24 h: breach
    # 03-12 09:00, still open -> breached. Last change known at as_of: creation -> 99 h since update.
    api_ticket(106, "closed", "2024-03-11T09:00:00Z", "2024-03-16T09:00:00Z",
               due_date="2024-03-13T09:00:00Z", assigned_to=ALICE, priority=NORMAL,
               history=[("2024-03-11T09:00:00Z", "active"), ("2024-03-16T09:00:00Z", "closed")]),
    # 107 open, due soon, clock stopped: active 06-10 (4 h on the clock), draft since (2 h). SLA
    # High 8 h not reached and the clock stands still -> no breach time, SLA active. Due 03-16 00:00,
    # 12 h after as_of -> due soon. 6 h old, updated 2 h ago.
    api_ticket(107, "draft", "2024-03-15T06:00:00Z", "2024-03-15T10:00:00Z",
               due_date="2024-03-16T00:00:00Z", assigned_to=BOB, priority=HIGH,
               history=[("2024-03-15T06:00:00Z", "active"), ("2024-03-15T10:00:00Z", "draft")]),
    # 108 closed, no status history and no earlier version: closed at updated_at (30 h after
    # creation). Taken as active 03-01 00:00 -> 03-02 06:00, closed 03-02 06:00 -> as_of = 318 h.
    # No priority (-1: default 48 h, breach 03-03 00:00, met), unassigned (-1).
    api_ticket(108, "closed", "2024-03-01T00:00:00Z", "2024-03-02T06:00:00Z", author=CAROL),
    # 109 no status history, but tickets_history saw it active (v1) and then closed (v2, updated
    # 03-13 08:00); v3 is a later edit (updated 03-13 20:00). Closed at v2's updated_at: 24 h,
    # "observed". Active 24 h, closed 03-13 08:00 -> as_of = 52 h. SLA Low 72 h: met.
    # Last update 03-13 20:00 -> 40 h.
    api_ticket(109, "closed", "2024-03-12T08:00:00Z", "2024-03-13T20:00:00Z", assigned_to=ALICE,
               priority=LOW, name="Ticket 109 (renamed)"),
    # 110 open, no history at all: one active interval 02-01 00:00 -> as_of = 29 d + 14.5 d = 1044 h
    # ('>30d'). SLA Low 72 h: breach 02-04 00:00 -> breached. No due date.
    api_ticket(110, "active", "2024-02-01T00:00:00Z", "2024-02-01T00:00:00Z", assigned_to=BOB, priority=LOW,
               history=[]),
    # 111 created after as_of: not in the marts.
    api_ticket(111, "active", "2024-03-16T00:00:00Z", "2024-03-16T00:00:00Z", assigned_to=ALICE, priority=NORMAL,
               history=[("2024-03-16T00:00:00Z", "active")]),
]

# Tickets deleted in User.com, with the deleted_at the pipeline marked (tests/test_deletions.py marks them for real).
# 112 open when deleted: Normal, active since 03-08 10:00, due 03-09 00:00 (overdue from then), deleted 03-12 06:00.
# 113 closed when deleted: High, active 03-12 10:00-12:00 (2 h to close), deleted 03-14 00:00.
DELETED = {
    112: (api_ticket(112, "active", "2024-03-08T10:00:00Z", "2024-03-08T10:00:00Z", due_date="2024-03-09T00:00:00Z",
                     assigned_to=ALICE, priority=NORMAL, history=[("2024-03-08T10:00:00Z", "active")]),
          "2024-03-12T06:00:00Z"),
    113: (api_ticket(113, "closed", "2024-03-12T10:00:00Z", "2024-03-12T12:00:00Z", assigned_to=BOB, priority=HIGH,
                     history=[("2024-03-12T10:00:00Z", "active"), ("2024-03-12T12:00:00Z", "closed")]),
          "2024-03-14T00:00:00Z"),
}

TICKET_109_VERSIONS = [
    ("2024-03-12T09:00:00Z", api_ticket(109, "active", "2024-03-12T08:00:00Z", "2024-03-12T08:00:00Z",
                                        assigned_to=DAVE, priority=URGENT)),
    ("2024-03-13T10:00:00Z", api_ticket(109, "closed", "2024-03-12T08:00:00Z", "2024-03-13T08:00:00Z",
                                        assigned_to=ALICE, priority=LOW)),
    ("2024-03-13T21:00:00Z", TICKETS[8]),
]

# (observed_at, ticket) for each version the pipeline saw: the current one of every ticket, and
# ticket 109's earlier ones.
HISTORY_VERSIONS = [(LOADED_AT, t) for t in TICKETS if t["id"] != 109] + TICKET_109_VERSIONS


# --- stand-in for a pipeline run ------------------------------------------------------------------

TIMESTAMP_COLUMNS = {"created_at", "updated_at", "due_date", "entered_at", "valid_from", "valid_to", "deleted_at"}
TICKETS_HISTORY_COLUMNS = ["id", "updated_at", "status", "assigned_to__id", "assigned_to__name",
                           "priority__id", "priority__name", "due_date"]


def write_raw_tables(db_path: Path, tickets: list[dict], history_versions: list[tuple[str, dict]],
                     deleted: dict[int, str] | None = None) -> None:
    """Write API-shaped tickets as the pipeline's raw tables in schema ``usercom`` of ``db_path``.

    Like dlt: nested objects become ``parent__child`` columns, a column no ticket had a value for is
    not created, ``status_history`` becomes ``tickets__status_history`` (absent when no ticket had
    one) and ``history_versions`` ((observed_at, ticket) pairs) become ``tickets_history`` (SCD2).
    ``deleted`` (id: deleted_at) is what the pipeline marks in ``tickets.deleted_at``; without it the
    column is absent, as in a database loaded before deletions were marked.
    """
    def flatten(ticket: dict) -> dict:
        row = {}
        for key, value in ticket.items():
            if isinstance(value, dict):
                row.update({f"{key}__{k}": v for k, v in value.items()})
            elif not isinstance(value, list) and value is not None or key in ("id", "status"):
                row[key] = value
        return row

    def create(con, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        columns = list(dict.fromkeys(c for r in rows for c in r if r[c] is not None))
        def sql_type(c):
            sample = next(r[c] for r in rows if r.get(c) is not None)
            return "TIMESTAMPTZ" if c in TIMESTAMP_COLUMNS else {int: "BIGINT", float: "DOUBLE"}.get(type(sample), "VARCHAR")
        con.execute(f"create table usercom.{table} ({', '.join(f'{c} {sql_type(c)}' for c in columns)})")
        con.executemany(f"insert into usercom.{table} values ({', '.join('?' for _ in columns)})",
                        [[r.get(c) for c in columns] for r in rows])

    ticket_rows = [{**flatten(t), "deleted_at": (deleted or {}).get(t["id"]), "_dlt_id": f"t{t['id']}",
                    "_dlt_load_id": "1710590400.0"} for t in tickets]
    history_rows = [
        {"ticket_id": t["id"], "position": i, "entered_at": h["entered_at"], "status": h["status"],
         "_dlt_id": f"t{t['id']}h{i}", "_dlt_parent_id": f"t{t['id']}", "_dlt_root_id": f"t{t['id']}", "_dlt_list_idx": i}
        for t in tickets for i, h in enumerate(t.get("status_history") or [])
    ]
    by_ticket: dict[int, list[tuple[str, dict]]] = {}
    for observed_at, ticket in sorted(history_versions, key=lambda v: v[0]):
        by_ticket.setdefault(ticket["id"], []).append((observed_at, ticket))
    version_rows = [
        {**{c: flatten(t).get(c) for c in TICKETS_HISTORY_COLUMNS},
         "valid_from": seen, "valid_to": versions[i + 1][0] if i + 1 < len(versions) else None}
        for versions in by_ticket.values() for i, (seen, t) in enumerate(versions)
    ]
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema if not exists usercom")
        create(con, "tickets", ticket_rows)
        create(con, "tickets__status_history", history_rows)
        create(con, "tickets_history", version_rows)


# --- fixtures -------------------------------------------------------------------------------------

def build(database: Path, **kwargs):
    """Build the marts on the DuckDB file ``database`` (the pipeline's, schema usercom), as `transform` does."""
    return build_marts(make_pipeline(database.parent), **kwargs)


@pytest.fixture()
def policy_file(tmp_path) -> Path:
    path = tmp_path / "sla_policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The hand-made tickets loaded, built and published once for the module's read-only tests;
    yields (database path, BuildResult)."""
    directory = tmp_path_factory.mktemp("built")
    (directory / "sla_policy.toml").write_text(POLICY)
    db = directory / "tickets.duckdb"
    deleted = [ticket for ticket, _ in DELETED.values()]
    write_raw_tables(db, TICKETS + deleted, HISTORY_VERSIONS + [(t["updated_at"], t) for t in deleted],
                     {i: at for i, (_, at) in DELETED.items()})
    result = build(db, policy_path=directory / "sla_policy.toml")
    publish_build(db.parent, db)
    return db, result


def rows(db: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def by_id(db: Path) -> dict[int, dict]:
    return {r["ticket_id"]: r for r in rows(db, "select * from analytics.fct_tickets")}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- the test data is API-shaped ------------------------------------------------------------------

def test_test_tickets_have_the_shape_the_api_lists():
    seed = json.loads(FIXTURE.read_text())["results"][0]
    for ticket in TICKETS + [t for _, t in TICKET_109_VERSIONS]:
        assert set(ticket) - {"status_history"} == set(seed)
        for key in ("assigned_to", "author", "priority"):
            assert ticket[key] is None or set(ticket[key]) == set(seed[key]), key


# --- fct_tickets, one ticket at a time ------------------------------------------------------------

CLOSURES = {
    # id: (status, is_open, first_closed_at, last_closed_at, source, first h, full h, reopens)
    101: ("closed", False, "2024-03-04T15:00Z", "2024-03-04T15:00Z", "status_history", 6, 6, 0),
    102: ("closed", False, "2024-03-07T10:00Z", "2024-03-07T10:00Z", "status_history", 48, 48, 0),
    103: ("closed", False, "2024-03-06T20:00Z", "2024-03-06T20:00Z", "status_history", 12, 12, 0),
    104: ("archived", False, "2024-03-07T11:00Z", "2024-03-07T19:00Z", "status_history", 2, 10, 1),
    105: ("closed", False, "2024-03-09T17:00Z", "2024-03-09T17:00Z", "status_history", 33, 33, 0),
    106: ("active", True, None, None, None, None, None, 0),
    107: ("draft", True, None, None, None, None, None, 0),
    108: ("closed", False, "2024-03-02T06:00Z", "2024-03-02T06:00Z", "updated_at", 30, 30, 0),
    109: ("closed", False, "2024-03-13T08:00Z", "2024-03-13T08:00Z", "observed", 24, 24, 0),
    110: ("active", True, None, None, None, None, None, 0),
    112: ("active", True, None, None, None, None, None, 0),
    113: ("closed", False, "2024-03-12T12:00Z", "2024-03-12T12:00Z", "status_history", 2, 2, 0),
}


def test_closures_and_resolution_hours(built):
    db, _ = built
    tickets = by_id(db)
    assert sorted(tickets) == sorted(CLOSURES)  # 111 was created after as_of; 112 and 113 were deleted, and stay
    for ticket_id, (status, is_open, first, last, source, first_h, full_h, reopens) in CLOSURES.items():
        t = tickets[ticket_id]
        assert (t["status"], t["is_open"]) == (status, is_open), ticket_id
        assert t["first_closed_at"] == (utc(first) if first else None), ticket_id
        assert t["last_closed_at"] == (utc(last) if last else None), ticket_id
        assert t["closed_at_source"] == source, ticket_id
        assert t["first_resolution_hours"] == first_h, ticket_id
        assert t["full_resolution_hours"] == full_h, ticket_id
        assert t["reopen_count"] == reopens, ticket_id


HOURS_IN_STATUS = {
    # id: (active, draft, closed, archived); each row sums to created_at -> as_of
    101: (6, 0, 261, 0),
    102: (48, 0, 194, 0),
    103: (12, 0, 208, 0),
    104: (8, 0, 74, 113),
    105: (23, 10, 139, 0),
    106: (99, 0, 0, 0),
    107: (4, 2, 0, 0),
    108: (30, 0, 318, 0),
    109: (24, 0, 52, 0),
    110: (1044, 0, 0, 0),
}


def test_hours_in_each_status(built):
    db, _ = built
    tickets = by_id(db)
    for ticket_id, expected in HOURS_IN_STATUS.items():
        t = tickets[ticket_id]
        got = (t["hours_in_active"], t["hours_in_draft"], t["hours_in_closed"], t["hours_in_archived"])
        assert got == expected, ticket_id


DUE = {
    # id: (has_due_date, due_target_hours, closed_on_time, due_variance_hours, is_overdue, hours_to_due, due_soon)
    101: (True, 15, True, -9, False, None, False),
    102: (True, 24, False, 24, False, None, False),
    103: (False, None, None, None, False, None, False),
    104: (True, 24, True, -22, False, None, False),
    105: (True, 40, True, -7, False, None, False),
    106: (True, 48, None, None, True, -51, False),
    107: (True, 18, None, None, False, 12, True),
    108: (False, None, None, None, False, None, False),
    109: (False, None, None, None, False, None, False),
    110: (False, None, None, None, False, None, False),
}


def test_due_date_metrics(built):
    db, _ = built
    tickets = by_id(db)
    columns = ["has_due_date", "due_target_hours", "closed_on_time", "due_variance_hours", "is_overdue",
               "hours_to_due", "due_soon"]
    for ticket_id, expected in DUE.items():
        assert tuple(tickets[ticket_id][c] for c in columns) == expected, ticket_id


SLA = {
    # id: (sla_target_hours, sla_breach_at, is_sla_breached, is_sla_active)
    101: (8, "2024-03-04T17:00Z", False, False),
    102: (24, "2024-03-06T10:00Z", True, False),
    103: (72, "2024-03-09T08:00Z", False, False),
    104: (8, "2024-03-07T17:00Z", False, False),
    105: (24, "2024-03-09T18:00Z", False, False),  # 10 h of draft pushed it from 03-09 08:00
    106: (24, "2024-03-12T09:00Z", True, False),
    107: (8, None, False, True),  # clock stopped in draft with 4 h to go
    108: (48, "2024-03-03T00:00Z", False, False),  # no priority: the default target
    109: (72, "2024-03-15T08:00Z", False, False),
    110: (72, "2024-02-04T00:00Z", True, False),
}


def test_priority_sla(built):
    db, _ = built
    tickets = by_id(db)
    for ticket_id, (target, breach_at, breached, active) in SLA.items():
        t = tickets[ticket_id]
        assert t["sla_target_hours"] == target, ticket_id
        assert t["sla_breach_at"] == (utc(breach_at) if breach_at else None), ticket_id
        assert (t["is_sla_breached"], t["is_sla_active"]) == (breached, active), ticket_id


AGE = {
    # id: (open_age_hours, hours_since_update, age_bucket)
    101: (None, 261, None),
    102: (None, 194, None),
    103: (None, 208, None),
    104: (None, 113, None),
    105: (None, 139, None),
    106: (99, 99, "3-7d"),  # its update on 03-16 is after as_of
    107: (6, 2, "<1d"),
    108: (None, 318, None),
    109: (None, 40, None),
    110: (1044, 1044, ">30d"),
}


def test_age_of_open_tickets(built):
    db, _ = built
    tickets = by_id(db)
    for ticket_id, expected in AGE.items():
        t = tickets[ticket_id]
        assert (t["open_age_hours"], t["hours_since_update"], t["age_bucket"]) == expected, ticket_id


def test_ticket_keys_point_at_dimension_members(built):
    db, _ = built
    tickets = by_id(db)
    assert (tickets[108]["priority_id"], tickets[108]["assignee_id"], tickets[108]["author_id"]) == (-1, -1, 3)
    assert (tickets[109]["priority_id"], tickets[109]["assignee_id"]) == (3, 2)  # current, not v1's
    assert (tickets[102]["created_week"].isoformat(), tickets[102]["created_iso_week"]) == ("2024-03-04", "2024-W10")
    assert (tickets[110]["created_week"].isoformat(), tickets[110]["created_iso_week"]) == ("2024-01-29", "2024-W05")


# --- status intervals -----------------------------------------------------------------------------

def test_status_intervals_run_from_creation_to_as_of(built):
    db, _ = built
    got = {
        ticket_id: [(r["status"], r["entered_at"], r["left_at"], r["hours"], r["is_current"], r["entered_from"])
                    for r in rows(db, f"select * from analytics.fct_ticket_status_intervals "
                                      f"where ticket_id = {ticket_id} order by interval_seq")]
        for ticket_id in (104, 108, 109, 110)
    }
    as_of = AS_OF
    assert got[104] == [
        ("active", utc("2024-03-07T09:00Z"), utc("2024-03-07T11:00Z"), 2, False, "created"),
        ("closed", utc("2024-03-07T11:00Z"), utc("2024-03-07T13:00Z"), 2, False, "status_history"),
        ("active", utc("2024-03-07T13:00Z"), utc("2024-03-07T19:00Z"), 6, False, "status_history"),
        ("closed", utc("2024-03-07T19:00Z"), utc("2024-03-10T19:00Z"), 72, False, "status_history"),
        ("archived", utc("2024-03-10T19:00Z"), as_of, 113, True, "status_history"),
    ]
    assert got[108] == [
        ("active", utc("2024-03-01T00:00Z"), utc("2024-03-02T06:00Z"), 30, False, "created"),
        ("closed", utc("2024-03-02T06:00Z"), as_of, 318, True, "updated_at"),
    ]
    assert got[109] == [
        ("active", utc("2024-03-12T08:00Z"), utc("2024-03-13T08:00Z"), 24, False, "created"),
        ("closed", utc("2024-03-13T08:00Z"), as_of, 52, True, "observed"),
    ]
    assert got[110] == [("active", utc("2024-02-01T00:00Z"), as_of, 1044, True, "created")]


# --- aggregates -----------------------------------------------------------------------------------

AGG_COLUMNS = ["tickets_created", "tickets_closed", "tickets_open", "tickets_overdue", "tickets_breached",
               "median_resolution_hours", "p90_resolution_hours", "on_time_rate", "breach_rate", "reopen_rate"]


def test_sla_by_priority_and_week(built):
    db, _ = built
    got = {(r["priority_name"], r["iso_week"]): tuple(r[c] for c in AGG_COLUMNS)
           for r in rows(db, "select * from analytics.agg_sla_by_priority")}
    assert got == {
        # High W10: 101 and 104; resolution 6 and 2 h -> median 4, p90 2 + 0.9 * 4 = 5.6; 104 reopened
        ("High", "2024-W10"): (2, 2, 0, 0, 0, 4, pytest.approx(5.6), 1.0, 0.0, 0.5),
        # Normal W10: 102 (late, breached) and 105; 48 and 33 h -> median 40.5, p90 33 + 0.9 * 15 = 46.5
        ("Normal", "2024-W10"): (2, 2, 0, 0, 1, 40.5, pytest.approx(46.5), 0.5, 0.5, 0.0),
        ("Low", "2024-W10"): (1, 1, 0, 0, 0, 12, 12, None, 0.0, 0.0),  # 103, no due date
        ("(no priority)", "2024-W09"): (1, 1, 0, 0, 0, 30, 30, None, 0.0, 0.0),  # 108
        ("Low", "2024-W05"): (1, 0, 1, 0, 1, None, None, None, 1.0, None),  # 110, open and breached
        ("Normal", "2024-W11"): (1, 0, 1, 1, 1, None, None, None, 1.0, None),  # 106, open and overdue
        ("High", "2024-W11"): (1, 0, 1, 0, 0, None, None, None, None, None),  # 107: SLA still running
        ("Low", "2024-W11"): (1, 1, 0, 0, 0, 24, 24, None, 0.0, 0.0),  # 109
    }


def test_sla_by_agent_and_week(built):
    db, _ = built
    got = {(r["agent_name"], r["iso_week"]): tuple(r[c] for c in AGG_COLUMNS)
           for r in rows(db, "select * from analytics.agg_sla_by_agent")}
    assert got == {
        ("Agent Bob", "2024-W10"): (2, 2, 0, 0, 0, 4, pytest.approx(5.6), 1.0, 0.0, 0.5),  # 101, 104
        # 102 and 103: 48 and 12 h -> median 30, p90 12 + 0.9 * 36 = 44.4; only 102 has a due date (late)
        ("Agent Alice", "2024-W10"): (2, 2, 0, 0, 1, 30, pytest.approx(44.4), 0.0, 0.5, 0.0),
        # 106 (open, overdue, breached) and 109 (closed in 24 h, met)
        ("Agent Alice", "2024-W11"): (2, 1, 1, 1, 1, 24, 24, None, 0.5, 0.0),
        ("Agent Carol", "2024-W10"): (1, 1, 0, 0, 0, 33, 33, 1.0, 0.0, 0.0),  # 105
        ("Agent Bob", "2024-W11"): (1, 0, 1, 0, 0, None, None, None, None, None),  # 107
        ("Agent Bob", "2024-W05"): (1, 0, 1, 0, 1, None, None, None, 1.0, None),  # 110
        ("(nobody)", "2024-W09"): (1, 1, 0, 0, 0, 30, 30, None, 0.0, 0.0),  # 108
    }


def test_backlog_daily(built):
    db, _ = built
    backlog = {(r["day"].isoformat(), r["priority_name"]): r for r in rows(db, "select * from analytics.rpt_backlog_daily")}
    assert len(backlog) == 44 * 5  # 2024-02-01 .. 2024-03-15 x High, Normal, Low, Urgent, (no priority)

    def counts(day, priority):
        r = backlog[(day, priority)]
        return r["open_tickets"], r["opened_tickets"], r["closed_tickets"], r["reopened_tickets"], r["overdue_tickets"]

    # (open at end of day, opened, closed, reopened, overdue at end of day)
    assert counts("2024-02-01", "Low") == (1, 1, 0, 0, 0)  # 110
    assert counts("2024-03-01", "(no priority)") == (1, 1, 0, 0, 0)  # 108 opened at midnight
    assert counts("2024-03-02", "(no priority)") == (0, 0, 1, 0, 0)
    assert counts("2024-03-06", "Normal") == (1, 0, 0, 0, 1)  # 102 open, due 03-06 10:00
    assert counts("2024-03-07", "Normal") == (0, 0, 1, 0, 0)
    assert counts("2024-03-07", "High") == (0, 1, 2, 1, 0)  # 104 closed, reopened, closed
    assert counts("2024-03-12", "Low") == (2, 1, 0, 0, 0)  # 110 and 109
    assert counts("2024-03-12", "Normal") == (1, 0, 0, 0, 0)  # 106, due 03-13 09:00
    assert counts("2024-03-13", "Normal") == (1, 0, 0, 0, 1)
    assert counts("2024-03-13", "Low") == (1, 0, 1, 0, 0)
    # the day of as_of ends at as_of: 106 open (closes 03-16), 107 opened, 110 still open
    assert counts("2024-03-15", "High") == (1, 1, 0, 0, 0)
    assert counts("2024-03-15", "Normal") == (1, 0, 0, 0, 1)
    assert counts("2024-03-15", "Low") == (1, 0, 0, 0, 0)
    assert counts("2024-03-15", "(no priority)") == (0, 0, 0, 0, 0)
    assert backlog[("2024-03-15", "High")]["snapshot_at"] == AS_OF
    assert backlog[("2024-03-14", "High")]["snapshot_at"] == utc("2024-03-15T00:00Z")
    assert all(r["open_tickets"] == 0 for (_, p), r in backlog.items() if p == "Urgent")


def test_deleted_tickets_are_flagged_and_leave_the_counts_from_their_deletion_on(built):
    db, _ = built
    tickets = by_id(db)
    flagged = {i: (t["is_deleted"], t["deleted_at"]) for i, t in tickets.items() if t["is_deleted"] or t["deleted_at"]}
    assert flagged == {112: (True, utc("2024-03-12T06:00Z")), 113: (True, utc("2024-03-14T00:00Z"))}
    assert (tickets[112]["is_open"], tickets[112]["is_overdue"]) == (True, True)  # as last listed

    backlog = {(r["day"].isoformat(), r["priority_name"]): r for r in rows(db, "select * from analytics.rpt_backlog_daily")}

    def counts(day, priority):
        r = backlog[(day, priority)]
        return r["open_tickets"], r["opened_tickets"], r["closed_tickets"], r["deleted_tickets"], r["overdue_tickets"]

    # (open at end of day, opened, closed, deleted, overdue at end of day): 112 counts up to its deletion
    assert counts("2024-03-08", "Normal") == (2, 2, 0, 0, 0)  # 105 and 112; 112 is due at the next midnight
    assert counts("2024-03-09", "Normal") == (1, 0, 1, 0, 1)  # 105 closed; 112 overdue
    assert counts("2024-03-11", "Normal") == (2, 1, 0, 0, 1)  # 106 opened
    assert counts("2024-03-12", "Normal") == (1, 0, 0, 1, 0)  # 112 deleted at 06:00, and no longer overdue
    assert counts("2024-03-12", "High") == (0, 1, 1, 0, 0)  # 113 opened and closed before its deletion
    assert counts("2024-03-14", "High") == (0, 0, 0, 0, 0)  # deleted closed: the backlog does not move

    # left out of every SLA aggregate: the ten live tickets created up to as_of, three of them open
    for mart in ("agg_sla_by_priority", "agg_sla_by_agent", "rpt_sla_by_priority"):
        [totals] = rows(db, f"select sum(tickets_created) as created, sum(tickets_open) as open from analytics.{mart}")
        assert (totals["created"], totals["open"]) == (10, 3), mart


def test_a_ticket_deleted_after_as_of_counts_as_it_stood_then(tmp_path, policy_file):
    db = tmp_path / "tickets.duckdb"
    ticket = api_ticket(1, "active", "2024-03-14T00:00:00Z", "2024-03-14T00:00:00Z", priority=NORMAL,
                        history=[("2024-03-14T00:00:00Z", "active")])
    write_raw_tables(db, [ticket], [], {1: "2024-03-16T00:00:00Z"})
    build(db, policy_path=policy_file)
    (got,) = by_id(db).values()
    assert (got["is_deleted"], got["deleted_at"], got["is_open"]) == (False, None, True)
    assert [(r["tickets_created"], r["tickets_open"]) for r in rows(db, "select * from analytics.agg_sla_by_priority")] == [
        (1, 1)]
    last_day = rows(db, "select * from analytics.rpt_backlog_daily where day = date '2024-03-15' and priority_id = 2")
    assert [(r["open_tickets"], r["deleted_tickets"]) for r in last_day] == [(1, 0)]


def test_dimensions_hold_everyone_seen_anywhere(built):
    db, _ = built
    agents = {r["agent_id"]: (r["agent_name"], r["seen_as_assignee"], r["seen_as_author"])
              for r in rows(db, "select * from analytics.dim_agents")}
    assert agents == {
        1: ("Agent Bob", True, True),
        2: ("Agent Alice", True, True),
        3: ("Agent Carol", True, True),
        4: ("Agent Dave", True, False),  # assigned in an old version of 109 only
        -1: ("(nobody)", False, False),
    }
    priorities = {r["priority_id"]: (r["priority_name"], r["priority_order"], r["sla_target_hours"], r["uses_default_target"])
                  for r in rows(db, "select * from analytics.dim_priorities")}
    assert priorities == {
        1: ("High", 1, 8, False),
        2: ("Normal", 2, 24, False),  # the policy says "normal": names match case-insensitively
        3: ("Low", 3, 72, False),
        4: ("Urgent", None, 48, True),  # seen only in tickets_history, which carries no order
        -1: ("(no priority)", None, 48, True),
    }


# --- the build ------------------------------------------------------------------------------------

MARTS = ["agg_sla_by_agent", "agg_sla_by_company", "agg_sla_by_priority", "dim_agents", "dim_companies",
         "dim_priorities", "fct_ticket_history",
         "fct_ticket_status_intervals", "fct_tickets", "rpt_backlog_daily", "rpt_backlog_history_daily",
         "rpt_helpdesk_summary", "rpt_runs", "rpt_sla_by_priority"]
MART_COLUMNS = json.loads((FIXTURE.parent / "mart_columns.json").read_text())  # names and types before dbt


def test_build_result_reports_models_tests_and_as_of(built):
    _, result = built
    assert sorted(m for m in result.models if not m.startswith(("stg_", "int_"))) == MARTS
    order = result.models.index
    assert order("stg_tickets") < order("int_ticket_status_events") < order("fct_tickets")
    assert result.tests_passed >= 20  # a mart_checks test a mart (key, relationships, accepted values), the singular tests
    assert result.as_of == AS_OF
    assert result.schema == "analytics"
    assert result.seconds > 0


def test_marts_keep_their_names_columns_and_types(built):
    db, _ = built
    got = {}
    for r in rows(db, f"select table_name, column_name, data_type from duckdb_columns() where schema_name = 'analytics' "
                      f"and table_name in {tuple(MARTS)} order by table_name, column_index"):
        got.setdefault(r["table_name"], []).append([r["column_name"], r["data_type"]])
    assert got == MART_COLUMNS


def test_as_of_argument_overrides_the_policy_file_and_reparses_one_model_only(tmp_path, policy_file):
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    assert build(db, policy_path=policy_file).as_of == AS_OF

    result = build(db, as_of=datetime(2024, 3, 16, 12, tzinfo=UTC), policy_path=policy_file)

    assert result.as_of == datetime(2024, 3, 16, 12, tzinfo=UTC)
    tickets = by_id(db)
    assert 111 in tickets
    assert (tickets[106]["status"], tickets[106]["first_closed_at"]) == ("closed", utc("2024-03-16T09:00Z"))
    # as_of reaches dbt as an environment variable: dbt re-parses the model reading it, not the project
    dbt_log = dbt_runner.DbtRun(make_pipeline(tmp_path)).work_dir / "logs" / "dbt.log"
    second_build_log = dbt_log.read_text().split("Running with dbt")[-1]
    reparsed = "usercom_tickets://models/intermediate/sla_policy/int_sla_policy.sql"
    assert f"Partial parsing: updated file: {reparsed}" in second_build_log
    assert "Starting full parse" not in second_build_log


def test_a_database_where_no_run_was_logged_yet_builds_an_empty_run_log_mart(built):
    db, _ = built  # raw tables written by the stand-in: no `usercom.runs`
    assert rows(db, "select count(*) as n from information_schema.tables where table_name = 'runs'") == [{"n": 0}]
    assert rows(db, "select count(*) as n from analytics.rpt_runs") == [{"n": 0}]


def test_build_copes_with_missing_columns_and_tables(tmp_path, policy_file):
    # no status_history, no tickets_history, no assignee, priority or due date on any ticket
    db = tmp_path / "tickets.duckdb"
    tickets = [api_ticket(1, "closed", "2024-03-14T00:00:00Z", "2024-03-14T06:00:00Z", author=None),
               api_ticket(2, "active", "2024-03-15T00:00:00Z", "2024-03-15T00:00:00Z", author=None)]
    write_raw_tables(db, tickets, [])
    build(db, policy_path=policy_file)
    got = by_id(db)
    assert (got[1]["closed_at_source"], got[1]["first_resolution_hours"], got[1]["priority_id"]) == ("updated_at", 6, -1)
    assert (got[2]["is_open"], got[2]["open_age_hours"], got[2]["sla_target_hours"]) == (True, 12, 48)


def test_ticket_loaded_twice_counts_once_in_its_newest_version(tmp_path, policy_file):
    db = tmp_path / "tickets.duckdb"
    older = api_ticket(1, "active", "2024-03-14T00:00:00Z", "2024-03-14T00:00:00Z", priority=LOW)
    newer = api_ticket(1, "closed", "2024-03-14T00:00:00Z", "2024-03-14T12:00:00Z", priority=HIGH)
    write_raw_tables(db, [newer, older], [])
    build(db, policy_path=policy_file)
    (ticket,) = by_id(db).values()
    assert (ticket["status"], ticket["priority_id"], ticket["first_resolution_hours"]) == ("closed", 1, 12)


def test_build_before_the_first_pipeline_run_says_so(tmp_path, policy_file):
    db = tmp_path / "tickets.duckdb"
    with pytest.raises(RawDataMissing, match="run the pipeline first"):
        build(db, policy_path=policy_file)
    assert not db.exists()
    duckdb.connect(str(db)).close()  # a database without raw tables
    with pytest.raises(RawDataMissing, match="usercom.tickets"):
        build(db, policy_path=policy_file)


def test_data_test_failure_names_the_test_and_keys_and_readers_keep_the_last_good_build(built, tmp_path, policy_file):
    data = tmp_path / "data"
    shutil.copytree(built[0].parent, data, symlinks=True)  # the hand-made tickets, built and published with POLICY
    parquet_before = (data / "marts" / "fct_tickets.parquet").read_bytes()
    snapshot_before = (data / "analytics.duckdb").read_bytes()
    with duckdb.connect(str(data / "tickets.duckdb")) as con:
        con.execute("insert into usercom.tickets (id, status, name, created_at, updated_at) "
                    "values (999, 'pending', 'odd', '2024-03-10T00:00:00Z', '2024-03-10T00:00:00Z')")

    failed = cli("transform", "--data-dir", str(data), "--policy", str(policy_file))

    assert failed.returncode == 7 and failed.stderr.startswith("error: 1 data test(s) failed")
    assert "accepted_status_values: 3 offending rows" in failed.stderr and "ticket_id=999" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (data / "marts" / "fct_tickets.parquet").read_bytes() == parquet_before  # what readers see: the last good build
    assert (data / "analytics.duckdb").read_bytes() == snapshot_before
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from fct_tickets where ticket_id = 999").fetchone() == (0,)


def test_close_recorded_before_creation_fails_the_duration_and_interval_tests(tmp_path, policy_file):
    db = tmp_path / "tickets.duckdb"
    bad = api_ticket(1, "closed", "2024-03-10T00:00:00Z", "2024-03-10T00:00:00Z",
                     history=[("2024-03-10T00:00:00Z", "active"), ("2024-03-09T00:00:00Z", "closed")])
    write_raw_tables(db, [bad], [])
    with pytest.raises(DataTestFailed) as failed:
        build(db, policy_path=policy_file)
    names = {f.name for f in failed.value.failures}
    assert {"no_negative_durations", "status_intervals_cover_created_to_as_of"} <= names
    assert "ticket_id=1" in str(failed.value)


def test_models_read_raw_tables_through_sources_and_each_other_through_ref():
    sql_files = list((PROJECT_DIR / "models").rglob("*.sql")) + list((PROJECT_DIR / "tests").rglob("*.sql"))
    assert len(sql_files) > 20
    for path in sql_files:
        text = path.read_text()
        assert "analytics." not in text and "usercom." not in text, path  # a schema named by hand
    for path in (PROJECT_DIR / "models").rglob("*.sql"):
        assert any(call in path.read_text() for call in ("ref(", "select_raw_columns(", "var(", "weekly_sla_mart(")), path


def test_a_mart_column_the_contract_does_not_declare_fails_the_build(tmp_path, policy_file, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    spec_path = project / "models" / "marts" / "fct_tickets.yml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["models"][0]["columns"] = [c for c in spec["models"][0]["columns"] if c["name"] != "due_soon"]
    spec_path.write_text(yaml.safe_dump(spec))
    monkeypatch.setattr(dbt_runner, "PROJECT_DIR", project)  # the same project, one column less in its yml
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    with pytest.raises(ModelFailed, match="fct_tickets.*contract.*due_soon"):
        build(db, policy_path=policy_file)


def test_marts_are_published_as_parquet(built):
    db, result = built
    marts_dir = db.parent / "marts"
    assert sorted(p.name for p in marts_dir.iterdir()) == sorted(f"{m}.parquet" for m in MARTS)  # no temp files left
    for mart in MARTS:
        table = pq.read_table(marts_dir / f"{mart}.parquet")
        assert table.num_rows == rows(db, f"select count(*) as n from analytics.{mart}")[0]["n"]
    assert pq.read_table(marts_dir / "fct_tickets.parquet").column("ticket_id").to_pylist() != []


def test_parquet_is_written_beside_and_swapped_into_place(built, monkeypatch, tmp_path):
    db, _ = built
    marts_dir = tmp_path / "marts"
    shutil.copytree(db.parent / "marts", marts_dir)
    before = {p.name: p.read_bytes() for p in marts_dir.iterdir()}
    moves = []
    real_replace = os.replace

    def failing_second_replace(src, dst):
        moves.append((Path(src), Path(dst)))
        if len(moves) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(parquet_publish.os, "replace", failing_second_replace)
    with duckdb.connect(str(db), read_only=True) as con, pytest.raises(OSError, match="disk full"):
        parquet_publish.publish_parquet(con, MARTS, marts_dir, "analytics")
    (src, dst), _ = moves
    assert src.parent == dst.parent == marts_dir and src.name != dst.name
    assert sorted(p.name for p in marts_dir.iterdir()) == sorted(before)  # the failed temp file is gone
    second = moves[1][1].name
    assert (marts_dir / second).read_bytes() == before[second]  # untouched by the failed write


def test_every_mart_column_has_a_comment(built):
    db, _ = built
    columns = rows(db, "select table_name, column_name, comment from duckdb_columns() "
                       f"where schema_name = 'analytics' and table_name in {tuple(MARTS)}")
    assert columns and all(c["comment"] for c in columns), [c for c in columns if not c["comment"]]
    tables = {r["table_name"]: r["comment"]
              for r in rows(db, "select table_name, comment from duckdb_tables() where schema_name = 'analytics'")}
    assert tables["fct_tickets"].startswith("One row per ticket")
    comment = next(c["comment"] for c in columns if (c["table_name"], c["column_name"]) == ("fct_tickets", "is_overdue"))
    assert "due_date before as_of" in comment


def test_every_mart_column_is_in_the_readme(built):
    db, _ = built
    readme = (PROJECT_DIR / "README.md").read_text()
    for c in rows(db, "select table_name, column_name from duckdb_columns() "
                      f"where schema_name = 'analytics' and table_name in {tuple(MARTS)}"):
        assert f"`{c['column_name']}`" in readme, c


def test_dbt_project_defaults_are_the_packaged_policy():
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    packaged = load_policy(None, None)
    assert project["usercom_as_of"] == "now"
    assert project["usercom_terminal_statuses"] == list(packaged.terminal_statuses)
    assert project["usercom_clock_stopping_statuses"] == list(packaged.clock_stopping_statuses)
    assert project["usercom_default_target_hours"] == packaged.default_target_hours
    assert project["usercom_target_hours"] == packaged.target_hours
    assert project["usercom_sla_clock"] == packaged.sla_clock == "calendar"
    assert project["usercom_business_hours"] == {} and packaged.business_hours is None  # no schedule
    assert sorted(load_mart_docs()) == MARTS


# --- report and policy ----------------------------------------------------------------------------

def test_sla_report_shows_each_priority(built):
    db, _ = built
    report = render_sla_report(make_pipeline(db.parent))
    lines = sla_table_lines(report)
    assert lines[0] == "SLA by priority, tickets created up to 2024-03-15 12:00 UTC"
    assert lines[1] == "breach: on the calendar clock (targets in calendar hours)"
    assert lines[2].split() == ["priority", "target", "h", "open", "overdue", "closed", "on-time", "breach",
                                "median", "h", "p90", "h"]
    body = {line.rsplit(maxsplit=8)[0]: line.rsplit(maxsplit=8)[1:] for line in lines[4:]}
    assert body == {
        "High": ["8", "1", "0", "2", "100%", "0%", "4.0", "5.6"],
        "Normal": ["24", "1", "1", "2", "50%", "67%", "40.5", "46.5"],
        "Low": ["72", "1", "0", "2", "-", "33%", "18.0", "22.8"],
        "(no priority)": ["48", "0", "0", "1", "-", "0%", "30.0", "30.0"],
    }
    assert list(body) == ["High", "Normal", "Low", "(no priority)"]  # by User.com's order; Urgent has no tickets


def sla_table_lines(report: str) -> list[str]:
    """The lines of the report's SLA table by priority, between the helpdesk summary and the rates' legend."""
    return report.split("\n\n")[1].splitlines()


def test_sla_report_before_any_build(tmp_path):
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS[:1], [])
    with pytest.raises(MartsNotBuilt, match="build the transforms first"):
        render_sla_report(make_pipeline(tmp_path))


def test_policy_defaults_overrides_and_mistakes(tmp_path):
    packaged = load_policy(None, None)
    assert packaged.terminal_statuses == ("closed", "archived")
    assert packaged.clock_stopping_statuses == ("draft",)
    assert abs((datetime.now(UTC) - packaged.as_of).total_seconds()) < 60  # "now"
    naive = load_policy(None, datetime(2024, 1, 1, 12))
    assert naive.as_of == datetime(2024, 1, 1, 12, tzinfo=UTC)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.replace("as_of =", "as_off ="))
    with pytest.raises(PolicyError, match="as_off"):
        load_policy(path, None)
    path.write_text(POLICY.replace('["draft"]', '["draft", "closed"]'))
    with pytest.raises(PolicyError, match="closed"):
        load_policy(path, None)


# --- business hours -------------------------------------------------------------------------------
# A second set of tickets, on the business clock: Europe/Warsaw, Monday to Friday 09:00-17:00, closed
# on 2024-05-01 and 2024-05-03; as_of 2024-11-15 12:00 UTC (Friday 13:00 CET). Warsaw is UTC+1 (CET)
# in winter and UTC+2 (CEST) from the last Sunday of March (2024-03-31) to the last Sunday of October
# (2024-10-27): 09:00-17:00 is 08:00-16:00 UTC in winter, 07:00-15:00 UTC in summer. Targets are
# business hours: High 8, Normal 24, Low 72. Every value below is worked out by hand in the comment.

BUSINESS_AS_OF = datetime(2024, 11, 15, 12, tzinfo=UTC)
BUSINESS_SCHEDULE = """
[business_hours]
timezone = "Europe/Warsaw"
monday = ["09:00", "17:00"]
tuesday = ["09:00", "17:00"]
wednesday = ["09:00", "17:00"]
thursday = ["09:00", "17:00"]
friday = ["09:00", "17:00"]
holidays = ["2024-05-01", "2024-05-03"]
"""
BUSINESS_POLICY = (POLICY.replace("as_of = 2024-03-15T12:00:00Z", "as_of = 2024-11-15T12:00:00Z\nsla_clock = \"business\"")
                   + BUSINESS_SCHEDULE)


def closed_ticket(id, created_at, closed_at, priority, *, agent=BOB, between=()):
    """A ticket created active at created_at and closed at closed_at, with status changes ``between``."""
    history = [(created_at, "active"), *between, (closed_at, "closed")]
    return api_ticket(id, "closed", created_at, closed_at, assigned_to=agent, priority=priority, history=history)


BUSINESS_TICKETS = [
    # 201 a weekend: Friday 2024-03-08 16:55 CET -> Monday 03-11 09:10 CET = 5 + 10 min = 0.25 h (calendar
    # 64.25 h). High 8 h: 5 min on Friday, 7 h 55 min on Monday -> breach Monday 16:55 CET (15:55Z); met.
    closed_ticket(201, "2024-03-08T15:55:00Z", "2024-03-11T08:10:00Z", HIGH),
    # 202 across the spring-forward Sunday 2024-03-31: Thursday 03-28 12:00 CET -> Tuesday 04-02 12:00 CEST
    # = Thu 5 + Fri 8 + Mon 8 + Tue 3 = 24 h (calendar 119 h: the night of the change is an hour short);
    # Monday opens at 07:00Z, no longer 08:00Z. Normal 24 h: reached at the close itself -> met.
    closed_ticket(202, "2024-03-28T11:00:00Z", "2024-04-02T10:00:00Z", NORMAL),
    # 203 across the fall-back Sunday 2024-10-27: Friday 10-25 15:00 CEST -> Monday 10-28 11:00 CET = 2 + 2
    # = 4 h (calendar 69 h); Monday opens at 08:00Z, no longer 07:00Z. High 8 h: Monday 09:00 + 6 h ->
    # 15:00 CET (14:00Z); met.
    closed_ticket(203, "2024-10-25T13:00:00Z", "2024-10-28T10:00:00Z", HIGH),
    # 204 a holiday in between: Tuesday 04-30 16:00 CEST -> Thursday 05-02 10:00 CEST = 1 + 0 (05-01) + 1
    # = 2 h (calendar 42 h). High 8 h: Thursday 09:00 + 7 h -> 16:00 CEST (14:00Z); met.
    closed_ticket(204, "2024-04-30T14:00:00Z", "2024-05-02T08:00:00Z", HIGH),
    # 205 closed on a holiday: Thursday 05-02 16:00 CEST -> Friday 05-03 (holiday) 12:00 CEST = 1 + 0 = 1 h
    # (calendar 20 h). High 8 h: 1 h Thursday, holiday, weekend, Monday 05-06 09:00 + 7 h -> 16:00 CEST
    # (14:00Z); met.
    closed_ticket(205, "2024-05-02T14:00:00Z", "2024-05-03T10:00:00Z", HIGH),
    # 206 a clock-stopping status: Monday 06-03 09:00 CEST active, draft at 11:00, active again Tuesday
    # 06-04 10:00, closed 15:00 CEST. Intervals: active 2 h; draft Mon 11-17 + Tue 09-10 = 7 h; active 5 h;
    # closed Tue 15:00 -> as_of (Fri 11-15 13:00 CET): 23 weeks Mon 06-03 -> Fri 11-08 of 40 h = 920, less
    # Mon 06-03 (8) and Tue 09-15 (6), plus Mon-Thu 11-11..14 (32) and Fri 09-13 (4) = 942 h. First
    # resolution 2 + 7 + 5 = 14 h (like first_resolution_hours it counts the draft). High 8 h on the SLA
    # clock, which stands still in draft: 2 h, then Tuesday 10:00 + 6 h -> 16:00 CEST (14:00Z); met
    # (without the pause: Monday 17:00, breached).
    closed_ticket(206, "2024-06-03T07:00:00Z", "2024-06-04T13:00:00Z", HIGH, agent=ALICE,
                  between=[("2024-06-03T09:00:00Z", "draft"), ("2024-06-04T08:00:00Z", "active")]),
    # 207 open for six months: Monday 05-13 09:00 CEST -> Tuesday 11-12 17:00 CET = 26 weeks of 40 h + Mon
    # and Tue 8 h each = 1056 h (calendar 4401 h). Low 72 h = 9 business days: Mon 05-13 .. Fri 05-17, Mon
    # 05-20 .. Thu 05-23 -> Thursday 17:00 CEST (15:00Z); breached.
    closed_ticket(207, "2024-05-13T07:00:00Z", "2024-11-12T16:00:00Z", LOW, agent=ALICE),
    # 208 created outside opening hours: Saturday 06-08 10:00 CEST, its clock starts Monday 09:00; closed
    # Monday 06-10 09:30 CEST = 0.5 h (calendar 47.5 h). Normal 24 h: Mon, Tue, Wed -> Wednesday 06-12 17:00
    # CEST (15:00Z), the closing of the window the target is reached in, not Thursday's opening; met.
    closed_ticket(208, "2024-06-08T08:00:00Z", "2024-06-10T07:30:00Z", NORMAL, agent=ALICE),
    # 209 open at as_of, its breach past as_of: Friday 11-15 11:00 CET (10:00Z). Low 72 h: Fri 6 h, then
    # 8 h a day Mon 11-18 .. Wed 11-27 (64 h: 70 h), Thursday 11-28 09:00 + 2 h -> 11:00 CET (10:00Z).
    # Its one interval: 11:00 -> 13:00 CET = 2 h.
    api_ticket(209, "active", "2024-11-15T10:00:00Z", "2024-11-15T10:00:00Z", assigned_to=ALICE, priority=LOW,
               history=[("2024-11-15T10:00:00Z", "active")]),
]

BUSINESS_RESOLUTION = {
    # id: (first_resolution_hours, first_resolution_business_hours, full_resolution_business_hours)
    201: (64.25, 0.25, 0.25),
    202: (119, 24, 24),
    203: (69, 4, 4),
    204: (42, 2, 2),
    205: (20, 1, 1),
    206: (30, 14, 14),
    207: (4401, 1056, 1056),
    208: (47.5, 0.5, 0.5),
    209: (None, None, None),
}

BUSINESS_SLA = {
    # id: (sla_target_hours, sla_breach_at, is_sla_breached, is_sla_active)
    201: (8, "2024-03-11T15:55Z", False, False),
    202: (24, "2024-04-02T10:00Z", False, False),  # closed at the breach instant: met
    203: (8, "2024-10-28T14:00Z", False, False),
    204: (8, "2024-05-02T14:00Z", False, False),
    205: (8, "2024-05-06T14:00Z", False, False),
    206: (8, "2024-06-04T14:00Z", False, False),
    207: (72, "2024-05-23T15:00Z", True, False),
    208: (24, "2024-06-12T15:00Z", False, False),
    209: (72, "2024-11-28T10:00Z", False, True),
}

BUSINESS_INTERVALS = {
    # id: [(status, hours, business_hours), ...]
    206: [("active", 2, 2), ("draft", 23, 7), ("active", 5, 5), ("closed", 3935, 942)],  # 164 days less the hour of 10-27
    209: [("active", 2, 2)],
}

BUSINESS_BY_PRIORITY = {
    # priority: (median_resolution_business_hours, p90_resolution_business_hours)
    # High: 0.25, 1, 2, 4, 14 -> median 2, p90 at 3.6 -> 4 + 0.6 * 10 = 10
    "High": (2, 10),
    # Normal: 0.5 and 24 -> 12.25, p90 0.5 + 0.9 * 23.5 = 21.65
    "Normal": (12.25, 21.65),
    "Low": (1056, 1056),  # 209 is open
    "(no priority)": (None, None),
}

BUSINESS_BY_PRIORITY_AND_WEEK = {
    # (priority, ISO week): (median, p90) business hours; W18: 204 and 205, 2 and 1 h -> 1.5, 1 + 0.9 = 1.9
    ("High", "2024-W10"): (0.25, 0.25),
    ("Normal", "2024-W13"): (24, 24),
    ("High", "2024-W18"): (1.5, 1.9),
    ("Low", "2024-W20"): (1056, 1056),
    ("High", "2024-W23"): (14, 14),
    ("Normal", "2024-W23"): (0.5, 0.5),
    ("High", "2024-W43"): (4, 4),
    ("Low", "2024-W46"): (None, None),
}

BUSINESS_BY_AGENT_AND_WEEK = {
    # Alice W23: 206 and 208, 14 and 0.5 h -> 7.25, p90 0.5 + 0.9 * 13.5 = 12.65
    ("Agent Alice", "2024-W23"): (7.25, 12.65),
    ("Agent Bob", "2024-W18"): (1.5, 1.9),
}

BUSINESS_WINDOWS = {
    # local date: (opens_at, closes_at) in UTC; none on weekends and holidays
    "2024-03-29": ("2024-03-29T08:00Z", "2024-03-29T16:00Z"),  # Friday before the spring-forward
    "2024-04-01": ("2024-04-01T07:00Z", "2024-04-01T15:00Z"),  # Monday after it
    "2024-10-25": ("2024-10-25T07:00Z", "2024-10-25T15:00Z"),  # Friday before the fall-back
    "2024-10-28": ("2024-10-28T08:00Z", "2024-10-28T16:00Z"),  # Monday after it
    "2024-05-01": None,
    "2024-05-03": None,
    "2024-03-30": None,
}


def check_business_marts(query) -> None:
    """The hand-worked business-hours values, on marts read through ``query(sql) -> [row dicts]`` (DuckDB or
    PostgreSQL: the same numbers)."""
    tickets = {r["ticket_id"]: r for r in query("select * from analytics.fct_tickets")}
    assert sorted(tickets) == sorted(BUSINESS_RESOLUTION)
    for ticket_id, expected in BUSINESS_RESOLUTION.items():
        t = tickets[ticket_id]
        got = (t["first_resolution_hours"], t["first_resolution_business_hours"], t["full_resolution_business_hours"])
        assert got == expected, ticket_id
    for ticket_id, (target, breach_at, breached, active) in BUSINESS_SLA.items():
        t = tickets[ticket_id]
        assert (t["sla_target_hours"], t["sla_breach_at"], t["is_sla_breached"], t["is_sla_active"]) == (
            target, utc(breach_at), breached, active), ticket_id
    for ticket_id, expected in BUSINESS_INTERVALS.items():
        got = query(f"select status, hours, business_hours from analytics.fct_ticket_status_intervals "
                    f"where ticket_id = {ticket_id} order by interval_seq")
        assert [(r["status"], r["hours"], r["business_hours"]) for r in got] == expected, ticket_id
    by_priority = {r["priority_name"]: (r["median_resolution_business_hours"], r["p90_resolution_business_hours"])
                   for r in query("select * from analytics.rpt_sla_by_priority")}
    assert by_priority == {k: tuple(pytest.approx(v) if v else v for v in vs) for k, vs in BUSINESS_BY_PRIORITY.items()}
    weekly = {(r["priority_name"], r["iso_week"]): (r["median_resolution_business_hours"], r["p90_resolution_business_hours"])
              for r in query("select * from analytics.agg_sla_by_priority")}
    assert weekly == {k: tuple(pytest.approx(v) if v else v for v in vs) for k, vs in BUSINESS_BY_PRIORITY_AND_WEEK.items()}
    by_agent = {(r["agent_name"], r["iso_week"]): (r["median_resolution_business_hours"], r["p90_resolution_business_hours"])
                for r in query("select * from analytics.agg_sla_by_agent")}
    for key, expected in BUSINESS_BY_AGENT_AND_WEEK.items():
        assert by_agent[key] == tuple(pytest.approx(v) for v in expected), key
    windows = {r["local_date"].isoformat(): (r["opens_at"], r["closes_at"])
               for r in query("select * from analytics_internal.int_business_windows")}
    for day, expected in BUSINESS_WINDOWS.items():
        assert windows[day] == (tuple(utc(x) for x in expected) if expected else (None, None)), day
    (policy,) = query("select sla_clock, business_hours_timezone from analytics_internal.int_sla_policy")
    assert policy == {"sla_clock": "business", "business_hours_timezone": "Europe/Warsaw"}


@pytest.fixture(scope="module")
def built_business(tmp_path_factory):
    """The business-hours tickets built on the business clock; yields the database path."""
    directory = tmp_path_factory.mktemp("business")
    (directory / "sla_policy.toml").write_text(BUSINESS_POLICY)
    db = directory / "tickets.duckdb"
    write_raw_tables(db, BUSINESS_TICKETS, [(LOADED_AT, t) for t in BUSINESS_TICKETS])
    build(db, policy_path=directory / "sla_policy.toml")
    return db


def test_business_hours_on_the_business_clock(built_business):
    check_business_marts(lambda sql: rows(built_business, sql))


def test_sla_report_says_the_breach_runs_on_the_business_clock(built_business):
    lines = sla_table_lines(render_sla_report(make_pipeline(built_business.parent)))
    assert lines[1] == ("breach: on the business clock, Europe/Warsaw opening hours "
                        "(targets in business hours; bh = business hours)")
    assert lines[2].split()[-4:] == ["median", "bh", "p90", "bh"]
    body = {line.split()[0]: line.split()[1:] for line in lines[4:]}
    # High: 201 and 203-206, all met; business median 2, p90 10 (BUSINESS_BY_PRIORITY)
    assert body["High"][-2:] == ["2.0", "10.0"] and body["High"][5] == "0%"
    assert body["Low"][5] == "100%" and body["Low"][-2:] == ["1056.0", "1056.0"]  # 207 breached, 209 running


# A schedule whose opening window crosses midnight UTC, on the calendar clock: America/Los_Angeles,
# Monday to Friday 09:00-17:00 = 17:00Z-01:00Z in winter (PST, UTC-8), 16:00Z-00:00Z from the
# spring-forward Sunday 2024-03-10 (PDT, UTC-7); Sundays 02:30-04:00, a window that spring-forward
# day skips into: 02:30 does not exist that morning and is read an hour on, 03:30 PDT, so it is open
# 03:30-04:00 PDT (10:30Z-11:00Z), 0.5 h instead of 1.5 h. as_of 2024-03-15 12:00 UTC.

MIDNIGHT_SCHEDULE = """
[business_hours]
timezone = "America/Los_Angeles"
monday = ["09:00", "17:00"]
tuesday = ["09:00", "17:00"]
wednesday = ["09:00", "17:00"]
thursday = ["09:00", "17:00"]
friday = ["09:00", "17:00"]
sunday = ["02:30", "04:00"]
"""

MIDNIGHT_TICKETS = [
    # 301 Monday 01-08 16:30 PST (01-09 00:30Z) -> Tuesday 01-09 10:00 PST (18:00Z): 0.5 + 1 = 1.5 h, of
    # Monday's window 17:00Z-01:00Z the half hour after midnight UTC (calendar 17.5 h). The calendar clock:
    # High 8 h -> 01-09 08:30Z, breached (on the business clock it would have been met).
    closed_ticket(301, "2024-01-09T00:30:00Z", "2024-01-09T18:00:00Z", HIGH),
    # 302 Tuesday 01-09 15:00 -> 16:30 PST (23:00Z -> 00:30Z): inside one window, across midnight UTC:
    # 1.5 h, as many as calendar hours.
    closed_ticket(302, "2024-01-09T23:00:00Z", "2024-01-10T00:30:00Z", NORMAL),
    # 303 Saturday 03-09 12:00 PST (20:00Z) -> Monday 03-11 10:00 PDT (17:00Z): Sunday 03-10's window
    # 03:30-04:00 PDT = 0.5 h (the skipped hour) + Monday 09:00-10:00 = 1.5 h (calendar 45 h).
    closed_ticket(303, "2024-03-09T20:00:00Z", "2024-03-11T17:00:00Z", LOW),
    # 304 the Sunday before, for comparison: Saturday 03-02 12:00 PST -> Monday 03-04 10:00 PST = 1.5 + 1
    # = 2.5 h (calendar 46 h).
    closed_ticket(304, "2024-03-02T20:00:00Z", "2024-03-04T18:00:00Z", LOW),
]

MIDNIGHT_RESOLUTION = {
    # id: (first_resolution_hours, first_resolution_business_hours, sla_breach_at, is_sla_breached)
    301: (17.5, 1.5, "2024-01-09T08:30Z", True),
    302: (1.5, 1.5, "2024-01-10T23:00Z", False),
    303: (45, 1.5, "2024-03-12T20:00Z", False),
    304: (46, 2.5, "2024-03-05T20:00Z", False),
}

MIDNIGHT_WINDOWS = {
    "2024-01-08": ("2024-01-08T17:00Z", "2024-01-09T01:00Z"),  # Monday, across midnight UTC
    "2024-03-03": ("2024-03-03T10:30Z", "2024-03-03T12:00Z"),  # a Sunday, 02:30-04:00 PST
    "2024-03-10": ("2024-03-10T10:30Z", "2024-03-10T11:00Z"),  # the spring-forward Sunday
    "2024-03-11": ("2024-03-11T16:00Z", "2024-03-12T00:00Z"),  # Monday, PDT
    "2024-03-09": None,  # Saturday
}


def check_midnight_marts(query) -> None:
    """The hand-worked values of the Los Angeles schedule on the calendar clock, through ``query``."""
    tickets = {r["ticket_id"]: r for r in query("select * from analytics.fct_tickets")}
    for ticket_id, (hours, business_hours, breach_at, breached) in MIDNIGHT_RESOLUTION.items():
        t = tickets[ticket_id]
        got = (t["first_resolution_hours"], t["first_resolution_business_hours"], t["sla_breach_at"], t["is_sla_breached"])
        assert got == (hours, business_hours, utc(breach_at), breached), ticket_id
        assert t["full_resolution_business_hours"] == business_hours, ticket_id
    windows = {r["local_date"].isoformat(): (r["opens_at"], r["closes_at"])
               for r in query("select * from analytics_internal.int_business_windows")}
    for day, expected in MIDNIGHT_WINDOWS.items():
        assert windows[day] == (tuple(utc(x) for x in expected) if expected else (None, None)), day
    (policy,) = query("select sla_clock, business_hours_timezone from analytics_internal.int_sla_policy")
    assert policy == {"sla_clock": "calendar", "business_hours_timezone": "America/Los_Angeles"}


def test_business_hours_of_windows_across_midnight_utc_on_the_calendar_clock(tmp_path):
    (tmp_path / "sla_policy.toml").write_text(POLICY + MIDNIGHT_SCHEDULE)
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, MIDNIGHT_TICKETS, [(LOADED_AT, t) for t in MIDNIGHT_TICKETS])
    build(db, policy_path=tmp_path / "sla_policy.toml")
    check_midnight_marts(lambda sql: rows(db, sql))


def test_without_a_schedule_the_business_hours_columns_are_null(built):
    db, _ = built
    assert rows(db, "select count(*) as n from analytics.fct_tickets where first_resolution_business_hours is not null "
                    "or full_resolution_business_hours is not null") == [{"n": 0}]
    assert rows(db, "select count(*) as n from analytics.fct_ticket_status_intervals "
                    "where business_hours is not null") == [{"n": 0}]
    assert rows(db, "select count(*) as n from analytics.rpt_sla_by_priority "
                    "where median_resolution_business_hours is not null") == [{"n": 0}]
    assert rows(db, "select count(*) as n from duckdb_tables() where table_name = 'int_business_windows'") == [{"n": 0}]
    assert rows(db, "select sla_clock, business_hours_timezone from analytics_internal.int_sla_policy") == [
        {"sla_clock": "calendar", "business_hours_timezone": None}]


MALFORMED_SCHEDULES = [
    # (what the [business_hours] table holds instead, what the message must name)
    ('timezone = "Europe/Warsow"', r"timezone 'Europe/Warsow' is not an IANA time zone name: use one such as"),
    ('monday = ["09:00", "25:00"]', r"monday: '25:00' is not a time of day: write \"HH:MM\""),
    ('monday = ["17:00", "09:00"]', r"monday closes at 09:00, not after it opens at 17:00: give \[\"opening\", \"closing\"\]"),
    ('holidays = ["2024-13-01"]', r"holidays: '2024-13-01' is not a date: write local dates as \"YYYY-MM-DD\""),
    ('mon = ["09:00", "17:00"]', r"unknown key 'mon': weekdays are monday, tuesday"),
    ('monday = "09:00-17:00"', r"monday must be one opening window \[\"HH:MM\", \"HH:MM\"\]"),
]


@pytest.mark.parametrize(("line", "message"), MALFORMED_SCHEDULES)
def test_a_malformed_schedule_is_refused_naming_the_key_and_the_fix(tmp_path, line, message):
    key = line.split(" =")[0]
    schedule = "\n".join(x for x in BUSINESS_SCHEDULE.splitlines() if not x.startswith(f"{key} ="))
    path = tmp_path / "policy.toml"
    path.write_text(POLICY + schedule.replace("[business_hours]", f"[business_hours]\n{line}"))
    with pytest.raises(PolicyError, match=message):
        load_policy(path, None)


def test_policy_schedule_and_clock_settings(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(BUSINESS_POLICY.replace('friday = ["09:00", "17:00"]', 'friday = ["9:00", "24:00"]')
                    .replace('"2024-05-03"]', '2024-05-03, "2024-05-01"]'))
    policy = load_policy(path, None)
    assert policy.sla_clock == "business"
    assert policy.business_hours.timezone == "Europe/Warsaw"
    assert policy.business_hours.windows["friday"] == ("09:00", "24:00")  # "24:00" closes at midnight
    assert "saturday" not in policy.business_hours.windows  # not listed: closed
    assert [d.isoformat() for d in policy.business_hours.holidays] == ["2024-05-01", "2024-05-03"]  # TOML dates too
    assert load_policy(None, None).sla_clock == "calendar" and load_policy(None, None).business_hours is None
    path.write_text(POLICY.replace("default_target_hours", 'sla_clock = "business"\ndefault_target_hours'))
    with pytest.raises(PolicyError, match=r'sla_clock = "business" needs a \[business_hours\] schedule'):
        load_policy(path, None)
    path.write_text(POLICY.replace("default_target_hours", 'sla_clock = "working"\ndefault_target_hours'))
    with pytest.raises(PolicyError, match='sla_clock must be "calendar" or "business"'):
        load_policy(path, None)
    path.write_text(POLICY + '[business_hours]\ntimezone = "UTC"\n')
    with pytest.raises(PolicyError, match=r"opens on no weekday: give at least one opening window"):
        load_policy(path, None)
    path.write_text(POLICY + '[business_hours]\nmonday = ["09:00", "17:00"]\n')
    with pytest.raises(PolicyError, match=r"timezone is required"):
        load_policy(path, None)


def test_a_malformed_schedule_fails_the_command_in_one_line_before_any_model_runs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_raw_tables(data / "tickets.duckdb", TICKETS, HISTORY_VERSIONS)
    policy = tmp_path / "policy.toml"
    policy.write_text(BUSINESS_POLICY.replace('tuesday = ["09:00", "17:00"]', 'tuesday = ["09:00", "25:00"]'))

    result = cli("transform", "--data-dir", str(data), "--policy", str(policy))

    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        f"error: {policy}: [business_hours] tuesday: '25:00' is not a time of day: write \"HH:MM\" from \"00:00\" "
        "to \"23:59\" (\"24:00\" closes at midnight)"]
    assert not (data / ".dlt").exists() or not list((data / ".dlt").rglob("dbt.log"))  # dbt never started
    with duckdb.connect(str(data / "tickets.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.schemata where schema_name = 'analytics'").fetchone() == (0,)


def test_run_refuses_a_malformed_schedule_before_extracting_anything(sandbox, tmp_path):
    server = sandbox(tickets=20)
    policy = tmp_path / "policy.toml"
    policy.write_text(BUSINESS_POLICY.replace('"Europe/Warsaw"', '"Europe/Warsow"'))
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url}

    result = cli("run", "--data-dir", str(tmp_path / "data"), "--policy", str(policy), env=env)

    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        f"error: {policy}: [business_hours] timezone 'Europe/Warsow' is not an IANA time zone name: use one such as "
        '"Europe/Warsaw", "America/New_York" or "UTC" (the zone decides daylight saving)']
    assert server.request_log == [] and not (tmp_path / "data" / "tickets.duckdb").exists()


# Around the clock in America/Havana, where the clocks change at midnight: 2024-03-10 00:00 CST jumps to
# 01:00 CDT (05:00Z), and 2024-11-03 01:00 CDT falls back to 00:00 CST (05:00Z), so 11-03 00:00-01:00
# happens twice, 04:00Z-05:00Z and 05:00Z-06:00Z. Open every day 00:00-24:00: every business hour is a
# calendar hour, the spring-forward date is 23 h long and the fall-back date 25 h (from its first
# midnight, 04:00Z, to the next, 11-04 05:00Z), and no hour counts twice.

AROUND_THE_CLOCK_SCHEDULE = "\n[business_hours]\ntimezone = \"America/Havana\"\n" + "".join(
    f'{day} = ["00:00", "24:00"]\n' for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))

AROUND_THE_CLOCK_TICKETS = [
    # 501 created 03-09 12:00 CST (17:00Z), draft 03-10 01:30 CDT (05:30Z, just after the jump), active
    # again 11-03 00:30 CDT (04:30Z, the first pass), draft 00:30 CST (05:30Z, the second), closed 11-04
    # 12:00 CST (17:00Z): intervals 12.5, 5711, 1 and 35.5 h, first resolution 5760 h, all of them business hours.
    closed_ticket(501, "2024-03-09T17:00:00Z", "2024-11-04T17:00:00Z", LOW,
                  between=[("2024-03-10T05:30:00Z", "draft"), ("2024-11-03T04:30:00Z", "active"),
                           ("2024-11-03T05:30:00Z", "draft")]),
]

AROUND_THE_CLOCK_WINDOWS = {
    "2024-03-09": ("2024-03-09T05:00Z", "2024-03-10T05:00Z"),  # 24 h
    "2024-03-10": ("2024-03-10T05:00Z", "2024-03-11T04:00Z"),  # 23 h: 00:00 does not exist, 01:00 CDT
    "2024-11-02": ("2024-11-02T04:00Z", "2024-11-03T04:00Z"),  # 24 h, up to the first 11-03 00:00
    "2024-11-03": ("2024-11-03T04:00Z", "2024-11-04T05:00Z"),  # 25 h
}


def check_around_the_clock_marts(query) -> None:
    """Business hours equal calendar hours when open around the clock, across both changes, through ``query``."""
    intervals = query("select status, hours, business_hours from analytics.fct_ticket_status_intervals "
                      "where ticket_id = 501 order by interval_seq")
    assert [(r["status"], r["hours"]) for r in intervals] == [
        ("active", 12.5), ("draft", 5711), ("active", 1), ("draft", 35.5), ("closed", 259)]
    assert all(r["business_hours"] == r["hours"] for r in intervals), intervals
    (ticket,) = query("select first_resolution_hours, first_resolution_business_hours from analytics.fct_tickets")
    assert ticket == {"first_resolution_hours": 5760, "first_resolution_business_hours": 5760}
    windows = {r["local_date"].isoformat(): (r["opens_at"], r["closes_at"])
               for r in query("select * from analytics_internal.int_business_windows")}
    for day, expected in AROUND_THE_CLOCK_WINDOWS.items():
        assert windows[day] == tuple(utc(x) for x in expected), day


AROUND_THE_CLOCK_POLICY = POLICY.replace("2024-03-15T12:00:00Z", "2024-11-15T12:00:00Z") + AROUND_THE_CLOCK_SCHEDULE


def test_around_the_clock_business_hours_are_calendar_hours_across_midnight_clock_changes(tmp_path):
    (tmp_path / "sla_policy.toml").write_text(AROUND_THE_CLOCK_POLICY)
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, AROUND_THE_CLOCK_TICKETS, [(LOADED_AT, t) for t in AROUND_THE_CLOCK_TICKETS])
    build(db, policy_path=tmp_path / "sla_policy.toml")
    check_around_the_clock_marts(lambda sql: rows(db, sql))
