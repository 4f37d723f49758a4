"""History by day, customers, the one-row summary and custom attributes, on the hand-made tickets of
tests/test_transforms.py (as_of 2024-03-15 12:00 UTC, a Friday) with companies, people and custom
attributes added, every number worked out by hand; the same checks hold on PostgreSQL.

Added to the hand-made tickets: Acme (501) is the company of 101, 102, 106 and of 112 (deleted on 03-12);
Globex (502) of 103 and 110; the others have none. People: 101 and 106 are about Ann (1001), 102 about
Ben (1002), 103 about Cy (1003). Attributes: 101 came by email with 5 seats, 102 by chat; the policy also
lists attributes__csat, which no ticket has.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.job.pipeline import make_pipeline
from tests.test_postgres import build_hand_made
from tests.test_transforms import DELETED, HISTORY_VERSIONS, POLICY, TICKETS, build, rows, sla_table_lines, utc, write_raw_tables
from transforms.policy import load_policy
from transforms.report import render_sla_report
from transforms.ticket_attributes import TicketAttributesError

ACME = {"id": 501, "name": "Acme"}
GLOBEX = {"id": 502, "name": "Globex"}
PEOPLE = {1001: "Ann", 1002: "Ben", 1003: "Cy"}
COMPANY = {101: ACME, 102: ACME, 106: ACME, 112: ACME, 103: GLOBEX, 110: GLOBEX}
PERSON = {101: 1001, 106: 1001, 102: 1002, 103: 1003}
ATTRIBUTES = {101: {"channel": "email", "seats": 5}, 102: {"channel": "chat"}}
ATTRIBUTES_YML = """
columns:
  - name: attributes__channel
    data_type: text
    description: Where the ticket came in (email, chat).
  - name: attributes__seats
    data_type: bigint
    description: Seats the customer pays for.
  - name: attributes__csat
    data_type: double precision
    description: Satisfaction score, 1 to 5 (no ticket has one yet).
"""
ATTRIBUTES_POLICY = 'ticket_attributes = "ticket_attributes.yml"\n' + POLICY


def with_customers(ticket: dict) -> dict:
    """The ticket with its company, person and custom attributes (as the API lists them)."""
    extra = {"company": COMPANY.get(ticket["id"])}
    if ticket["id"] in PERSON:
        extra["person"] = {"id": PERSON[ticket["id"]], "name": PEOPLE[PERSON[ticket["id"]]]}
    if ticket["id"] in ATTRIBUTES:
        extra["attributes"] = ATTRIBUTES[ticket["id"]]
    return {**ticket, **extra}


CUSTOMER_TICKETS = [with_customers(t) for t in TICKETS + [ticket for ticket, _ in DELETED.values()]]
CUSTOMER_VERSIONS = HISTORY_VERSIONS + [(t["updated_at"], t) for t, _ in DELETED.values()]
DELETED_AT = {i: at for i, (_, at) in DELETED.items()}


@pytest.fixture(scope="module")
def built_customers(tmp_path_factory):
    """The hand-made tickets with customers and attributes, built on DuckDB; yields the database path."""
    directory = tmp_path_factory.mktemp("customers")
    (directory / "sla_policy.toml").write_text(ATTRIBUTES_POLICY)
    (directory / "ticket_attributes.yml").write_text(ATTRIBUTES_YML)
    db = directory / "tickets.duckdb"
    write_raw_tables(db, CUSTOMER_TICKETS, CUSTOMER_VERSIONS, DELETED_AT)
    build(db, policy_path=directory / "sla_policy.toml")
    return db


def check_history_marts(query) -> None:
    """The hand-worked history, backlog by status and assignee, summary, customers and attributes."""
    history = {}
    for r in query("select * from analytics.fct_ticket_history order by ticket_id, valid_from"):
        history.setdefault(r["ticket_id"], []).append(
            (r["valid_from"], r["valid_to"], r["status"], r["priority_id"], r["assignee_id"], r["is_current"]))
    as_of = utc("2024-03-15T12:00:00Z")
    # 109: no status history; v1 seen active with Urgent and Dave, v2 (updated 03-13 08:00) closed with Low
    # and Alice: one row until then, one after, as the versions tell.
    assert history[109] == [
        (utc("2024-03-12T08:00:00Z"), utc("2024-03-13T08:00:00Z"), "active", 4, 4, False),
        (utc("2024-03-13T08:00:00Z"), as_of, "closed", 3, 2, True),
    ]
    # 104 reopened, then archived; priority and assignee never changed: one row per status interval
    assert [(f, s) for f, _, s, *_ in history[104]] == [
        (utc("2024-03-07T09:00:00Z"), "active"), (utc("2024-03-07T11:00:00Z"), "closed"),
        (utc("2024-03-07T13:00:00Z"), "active"), (utc("2024-03-07T19:00:00Z"), "closed"),
        (utc("2024-03-10T19:00:00Z"), "archived"),
    ]
    assert history[104][-1][1:] == (as_of, "archived", 1, 1, True)
    # 112 deleted on 03-12 06:00 while active: its history ends there, no row is current
    assert history[112] == [(utc("2024-03-08T10:00:00Z"), utc("2024-03-12T06:00:00Z"), "active", 2, 2, False)]
    assert 111 not in history  # created after as_of

    def backlog(day: str) -> dict:
        return {(r["status"], r["priority_id"], r["assignee_id"]): r["open_tickets"]
                for r in query(f"select * from analytics.rpt_backlog_history_daily where day = '{day}' "
                               "and open_tickets <> 0")}
    # at as_of: 106 (Normal, Alice), 107 in draft (High, Bob), 110 (Low, Bob)
    assert backlog("2024-03-15") == {("active", 2, 2): 1, ("draft", 1, 1): 1, ("active", 3, 1): 1}
    # end of 03-12: 109 still active with Urgent and Dave; 112 deleted that morning, 113 closed at noon
    assert backlog("2024-03-12") == {("active", 2, 2): 1, ("active", 3, 1): 1, ("active", 4, 4): 1}
    assert backlog("2024-03-11") == {("active", 2, 2): 2, ("active", 3, 1): 1}  # 106 and 112 with Alice

    created = {r["ticket_id"]: (r["priority_id"], r["priority_at_creation_id"], r["sla_target_hours"],
                                r["sla_target_hours_at_creation"])
               for r in query("select * from analytics.fct_tickets")}
    assert created[109] == (3, 4, 72.0, 48.0)  # created Urgent (not in the policy: default 48 h), Low now
    assert created[101] == (1, 1, 8.0, 8.0) and created[108] == (-1, -1, 48.0, 48.0)

    (summary,) = query("select * from analytics.rpt_helpdesk_summary")
    built_at = summary.pop("built_at")  # when the build started (tests/test_report_explains.py pins it)
    assert built_at.tzinfo is not None and as_of < built_at <= datetime.now(UTC)
    assert summary == {
        "as_of": as_of, "sla_clock": "calendar",
        # open: 106, 107, 110 (112 is deleted); overdue 106; past their SLA target 106 and 110
        "open_tickets": 3, "unassigned_open_tickets": 0, "overdue_tickets": 1, "breached_open_tickets": 2,
        # since 03-08 12:00: created 106, 107, 109, 113; closed 105, 109, 113 (before its deletion);
        # deleted 112, 113; breached 106 (03-12 09:00)
        "created_last_7_days": 4, "closed_last_7_days": 3, "reopened_last_7_days": 0, "deleted_last_7_days": 2,
        "breached_last_7_days": 1,
        # since 02-14 12:00: all but 110 and 111; closes of 101-103, 105, 108, 109, 113 and 104 twice; 104's
        # reopen; breached 102 (03-06 10:00) and 106 (110 breached on 02-04)
        "created_last_30_days": 11, "closed_last_30_days": 9, "reopened_last_30_days": 1, "deleted_last_30_days": 2,
        "breached_last_30_days": 2,
    }

    companies = {r["company_id"]: r for r in query("select * from analytics.dim_companies")}
    assert sorted(companies) == [-1, 501, 502]
    acme, globex, none = companies[501], companies[502], companies[-1]
    # Acme: 101 (met, on time, 6 h), 102 (breached, late, 48 h), 106 (open, overdue, breached); 112 deleted
    assert (acme["company_name"], acme["people"], acme["tickets_created"], acme["tickets_open"],
            acme["tickets_overdue"], acme["tickets_closed"], acme["tickets_breached"], acme["tickets_deleted"]) == \
        ("Acme", 2, 3, 1, 1, 2, 2, 1)
    assert (acme["first_ticket_at"], acme["last_ticket_at"]) == (utc("2024-03-04T09:00:00Z"), utc("2024-03-11T09:00:00Z"))
    assert acme["breach_rate"] == pytest.approx(2 / 3) and acme["on_time_rate"] == 0.5
    assert acme["median_resolution_hours"] == pytest.approx(27.0)
    # Globex: 103 (closed in 12 h, met) and 110 (open, breached)
    assert (globex["tickets_created"], globex["tickets_open"], globex["tickets_breached"], globex["people"],
            globex["breach_rate"], globex["median_resolution_hours"]) == (2, 1, 1, 1, 0.5, 12.0)
    # without a company: 104, 105, 107, 108, 109; 113 deleted
    assert (none["company_name"], none["tickets_created"], none["tickets_deleted"]) == ("(no company)", 5, 1)

    weekly = {(r["company_id"], r["iso_week"]): r["tickets_created"]
              for r in query("select * from analytics.agg_sla_by_company")}
    assert weekly[(501, "2024-W10")] == 2 and weekly[(501, "2024-W11")] == 1  # 101, 102; 106
    assert sum(weekly.values()) == 10  # every ticket not deleted, once

    attributes = {r["ticket_id"]: (r["attributes__channel"], r["attributes__seats"], r["attributes__csat"])
                  for r in query("select * from analytics.fct_tickets")}
    assert attributes[101] == ("email", 5, None) and attributes[102] == ("chat", None, None)
    assert attributes[103] == (None, None, None)


def test_history_backlog_summary_customers_and_attributes(built_customers):
    check_history_marts(lambda sql: rows(built_customers, sql))


def test_attribute_columns_take_the_users_types_and_descriptions(built_customers):
    columns = {r["column_name"]: (r["data_type"], r["comment"])
               for r in rows(built_customers, "select column_name, data_type, comment from duckdb_columns() "
                                              "where schema_name = 'analytics' and table_name = 'fct_tickets'")}
    assert columns["attributes__channel"] == ("VARCHAR", "Where the ticket came in (email, chat).")
    assert columns["attributes__seats"] == ("BIGINT", "Seats the customer pays for.")
    assert columns["attributes__csat"] == ("DOUBLE", "Satisfaction score, 1 to 5 (no ticket has one yet).")
    assert list(columns)[-3:] == ["attributes__channel", "attributes__seats", "attributes__csat"]  # last, in order
    assert columns["is_overdue"][1]  # the contract's columns keep their comments


def test_report_leads_with_the_helpdesk_summary(built_customers):
    report = render_sla_report(make_pipeline(built_customers.parent))
    summary = report.split("\n\n")[0].splitlines()
    assert summary[0] == "Helpdesk at 2024-03-15 12:00 UTC"
    assert [line.split() for line in summary[1:]] == [
        ["tickets", "open", "unassigned", "overdue", "past", "SLA"],
        ["at", "as_of", "3", "0", "1", "2"],
        ["tickets", "created", "closed", "reopened", "deleted", "SLA", "breached"],
        ["last", "7", "days", "4", "3", "0", "2", "1"],
        ["last", "30", "days", "11", "9", "1", "2", "2"],
    ]
    assert sla_table_lines(report)[0] == "SLA by priority, tickets created up to 2024-03-15 12:00 UTC"


def test_the_hand_worked_history_and_customers_hold_on_postgres(postgres, tmp_path):
    (tmp_path / "ticket_attributes.yml").write_text(ATTRIBUTES_YML)
    check_history_marts(build_hand_made(postgres, tmp_path, "history_marts", CUSTOMER_TICKETS, ATTRIBUTES_POLICY,
                                        CUSTOMER_VERSIONS, DELETED_AT))


@pytest.mark.parametrize(("yml", "message"), [
    (None, "does not exist: write the attribute columns there"),
    ("columns: [1, 2", "is not valid YAML"),
    ("fields: []", "must hold a list `columns:`"),
    ("columns:\n  - {name: channel, data_type: text, description: x}", "'channel' is not a custom attribute column"),
    ("columns:\n  - {name: attributes__x, data_type: varchar, description: x}", "data_type 'varchar': use one of text"),
    ("columns:\n  - {name: attributes__x, data_type: text}", "attributes__x has no description"),
    ("columns:\n  - {name: attributes__x, data_type: text, description: a}\n"
     "  - {name: attributes__x, data_type: bigint, description: b}", "lists attributes__x more than once"),
])
def test_a_wrong_attributes_file_is_refused_naming_the_entry_and_the_fix(tmp_path, yml, message):
    (tmp_path / "sla_policy.toml").write_text(ATTRIBUTES_POLICY)
    if yml is not None:
        (tmp_path / "ticket_attributes.yml").write_text(yml)
    with pytest.raises(TicketAttributesError, match="ticket_attributes") as refused:
        load_policy(tmp_path / "sla_policy.toml")
    assert message in str(refused.value)


def test_attributes_file_reaches_dbt_as_a_var(tmp_path):
    (tmp_path / "sla_policy.toml").write_text(ATTRIBUTES_POLICY)
    (tmp_path / "ticket_attributes.yml").write_text(ATTRIBUTES_YML)
    from transforms.policy import dbt_vars

    attributes = dbt_vars(load_policy(tmp_path / "sla_policy.toml"))["usercom_ticket_attributes"]
    assert [(a["name"], a["data_type"]) for a in attributes] == [
        ("attributes__channel", "text"), ("attributes__seats", "bigint"), ("attributes__csat", "double precision")]
