"""A business-hours schedule per kind of ticket: named schedules in the policy and rules that pick one per
ticket (priority, company, segment, custom attribute; first match wins; else the default). Hand-worked
values on DuckDB and PostgreSQL, and a property test against a plain minute-by-minute count in local time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_calendars import CA_TICKETS, PL_EXPECTED, PL_POLICY, PL_TICKETS, check_calendar_marts
from tests.test_transforms import HIGH, LOW, NORMAL, POLICY, URGENT, build, closed_ticket, rows, utc, write_raw_tables
from transforms.policy import PolicyError, load_policy

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
NINE_TO_FIVE = "".join(f'{day} = ["09:00", "17:00"]\n' for day in WEEKDAYS)
AROUND_THE_CLOCK = "".join(f'{day} = ["00:00", "24:00"]\n' for day in (*WEEKDAYS, "saturday", "sunday"))

# The default is Poland's (tests/test_calendars.py: Europe/Warsaw 09:00-17:00, the PL calendar, 12-24 added,
# 11-11 removed); California's is America/Los_Angeles 09:00-17:00 with the US-CA calendar; around the clock is
# New York, every day 00:00-24:00 (business hours are calendar hours, daylight saving included).
SCHEDULES = f"""
[schedules.california]
timezone = "America/Los_Angeles"
{NINE_TO_FIVE}holidays = {{ country = "US", subdivision = "CA" }}

[schedules.around_the_clock]
timezone = "America/New_York"
{AROUND_THE_CLOCK}
[[schedule_rules]]
schedule = "around_the_clock"
priority = ["urgent"]

[[schedule_rules]]
schedule = "california"
company_id = [77]

[[schedule_rules]]
schedule = "california"
segment = ["West coast"]

[[schedule_rules]]
schedule = "california"
attributes__region = ["us-west"]
"""
SCHEDULES_POLICY = PL_POLICY + SCHEDULES


def with_(ticket: dict, **fields) -> dict:
    return {**ticket, **fields}


COMPANY = {"id": 77, "name": "West Coast Ltd"}
SCHEDULE_TICKETS = [
    *PL_TICKETS,  # no rule matches them: the default schedule, the values of tests/test_calendars.py
    # 801 Urgent (default target 48 h), around the clock across New York's spring-forward (03-10): 48 business
    # hours = 48 calendar hours; the clock reaches 48 h at the close itself -> met.
    closed_ticket(801, "2024-03-09T17:00:00Z", "2024-03-11T17:00:00Z", URGENT),
    # 802 company 77 -> California: Friday 03-29 16:00 PDT -> Tuesday 04-02 10:00 PDT across Cesar Chavez Day
    # (observed Monday 04-01): 1 + 0 + 1 = 2 h (90 calendar hours; on Poland's schedule Easter Monday too).
    # High 8 h: Tuesday 09:00 + 7 h -> 16:00 PDT (23:00Z).
    with_(closed_ticket(802, "2024-03-29T23:00:00Z", "2024-04-02T17:00:00Z", HIGH), company=COMPANY),
    # 803 segment "west coast" (names match case-insensitively) -> California: on the day after Thanksgiving
    # 11-29 10:00-12:00 PST, 0 h. Normal 24 h: Mon 12-02, Tue, Wed -> Wednesday 17:00 PST (12-05 01:00Z).
    closed_ticket(803, "2024-11-29T18:00:00Z", "2024-11-29T20:00:00Z", NORMAL),
    # 804 attribute region us-west -> California: Friday 11-29 (holiday) 10:00 -> Monday 12-02 10:00 PST = 1 h.
    # Low 72 h = 9 days from Monday 09:00: 12-02 .. 12-06, 12-09 .. 12-12 -> Thursday 17:00 PST (12-13 01:00Z).
    with_(closed_ticket(804, "2024-11-29T18:00:00Z", "2024-12-02T18:00:00Z", LOW), attributes={"region": "us-west"}),
    # 805 Urgent and company 77: the first rule that matches wins -> around the clock: 2 h on 11-29 (0 in
    # California); 48 h -> 12-01 18:00Z.
    with_(closed_ticket(805, "2024-11-29T18:00:00Z", "2024-11-29T20:00:00Z", URGENT), company=COMPANY),
    # 806 region eu: no rule -> Poland: on 3 May 10:00-12:00 CEST, 0 h; Normal 24 h -> 05-08 15:00Z.
    with_(closed_ticket(806, "2024-05-03T08:00:00Z", "2024-05-03T10:00:00Z", NORMAL), attributes={"region": "eu"}),
]
SEGMENTS = [(803, 0, "West Coast"), (806, 0, "Europe")]
# tests/test_calendars.py's Californian tickets, on the California schedule through company 77: built with the
# tickets above (tests/conftest.py `schedules_on_duckdb`, `schedules_on_postgres`) for its checks too
BUILT_TICKETS = SCHEDULE_TICKETS + [with_(t, company=COMPANY) for t in CA_TICKETS]

SCHEDULE_EXPECTED = {
    # id: (first_resolution_hours, first_resolution_business_hours, sla_breach_at)
    801: (48, 48, "2024-03-11T17:00Z"),
    802: (90, 2, "2024-04-02T23:00Z"),
    803: (2, 0, "2024-12-05T01:00Z"),
    804: (72, 1, "2024-12-13T01:00Z"),
    805: (2, 2, "2024-12-01T18:00Z"),
    806: (2, 0, "2024-05-08T15:00Z"),
}
SCHEDULE_NAMES = {601: "default", 606: "default", 801: "around_the_clock", 802: "california", 803: "california",
                  804: "california", 805: "around_the_clock", 806: "default"}


def write_segments(db_path, segments) -> None:
    """The child table tickets__segments as the pipeline loads it: (ticket_id, position, name) rows."""
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema if not exists usercom")
        con.execute("create table usercom.tickets__segments (ticket_id BIGINT, position BIGINT, name VARCHAR, "
                    "url VARCHAR)")
        con.executemany("insert into usercom.tickets__segments values (?, ?, ?, ?)",
                        [(t, p, n, f"/tickets/?segment={p}") for t, p, n in segments])


def check_schedule_marts(query) -> None:
    """The hand-worked values per schedule, the schedule's name in fct_tickets, the windows per schedule."""
    tickets = {r["ticket_id"]: r for r in query("select * from analytics.fct_tickets")}
    for ticket_id, name in SCHEDULE_NAMES.items():
        assert tickets[ticket_id]["business_schedule"] == name, ticket_id
    for ticket_id, (hours, business_hours, breach_at) in SCHEDULE_EXPECTED.items():
        t = tickets[ticket_id]
        got = (t["first_resolution_hours"], t["first_resolution_business_hours"], t["sla_breach_at"],
               t["is_sla_breached"])
        assert got == (hours, business_hours, utc(breach_at), False), ticket_id
    intervals = query("select ticket_id, hours, business_hours from analytics.fct_ticket_status_intervals "
                      "where ticket_id in (801, 805)")
    assert intervals and all(r["hours"] == r["business_hours"] for r in intervals), intervals  # 24/7, to as_of too
    windows = query("select schedule_name, local_date, opens_at from analytics_internal.int_business_windows "
                    "where local_date = cast('2024-04-01' as date) order by schedule_name")
    assert [(r["schedule_name"], r["opens_at"]) for r in windows] == [
        ("around_the_clock", utc("2024-04-01T04:00Z")), ("california", None), ("default", None)]


def built_on_duckdb(directory):
    """:data:`BUILT_TICKETS` with their segments built on DuckDB in ``directory`` with :data:`SCHEDULES_POLICY`;
    returns ``query(sql) -> [row dicts]``."""
    (directory / "sla_policy.toml").write_text(SCHEDULES_POLICY)
    db = directory / "tickets.duckdb"
    write_raw_tables(db, BUILT_TICKETS, [("2025-01-15T00:00:00Z", t) for t in BUILT_TICKETS])
    write_segments(db, SEGMENTS)
    build(db, policy_path=directory / "sla_policy.toml")
    return lambda sql: rows(db, sql)


def built_on_postgres(postgres, directory):
    """The same built on the suite's PostgreSQL, in a database of its own; returns ``query(sql) -> [row dicts]``."""
    from tests.test_postgres import build_hand_made

    write_segments(directory / "raw.duckdb", SEGMENTS)  # beside the tables build_hand_made writes and copies
    return build_hand_made(postgres, directory, "schedules", BUILT_TICKETS, SCHEDULES_POLICY)


def test_each_ticket_runs_on_the_schedule_its_first_matching_rule_picks(schedules_on_duckdb):
    check_schedule_marts(schedules_on_duckdb)
    check_calendar_marts(schedules_on_duckdb, PL_EXPECTED, {})  # the default schedule's tickets as on their own


def test_schedules_per_ticket_on_postgres_equal_the_hand_worked_values(schedules_on_postgres):
    check_schedule_marts(schedules_on_postgres)


def test_one_schedule_policies_read_as_before(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(PL_POLICY)
    policy = load_policy(path)
    assert policy.default_schedule == "default" and policy.schedules == {} and policy.schedule_rules == ()
    path.write_text(SCHEDULES_POLICY)
    policy = load_policy(path)
    assert list(policy.all_schedules()) == ["default", "california", "around_the_clock"]
    assert [r.as_var() for r in policy.schedule_rules][:2] == [
        {"schedule": "around_the_clock", "priority": ["urgent"]}, {"schedule": "california", "company_id": [77]}]


MALFORMED_RULES = [
    ('schedule = "around_the_clock"\npriority = ["urgent"]', 'schedule = "nights"\npriority = ["urgent"]',
     r"schedule_rules #1: schedule 'nights' is not a schedule: name one of default, california, around_the_clock"),
    ('schedule = "around_the_clock"\npriority = ["urgent"]', 'schedule = "california"\nassignee = [1]',
     r"schedule_rules #1: unknown match key 'assignee': match on priority, company_id, segment, attributes__<name>"),
    ('schedule = "around_the_clock"\npriority = ["urgent"]', 'schedule = "california"',
     r"schedule_rules #1: matches nothing: give a match key"),
    ('company_id = [77]', 'company_id = ["77"]', r"schedule_rules #2: company_id values are company ids"),
    ('attributes__region = ["us-west"]', 'Attributes__Region = ["us-west"]', r"unknown match key 'Attributes__Region'"),
    ('[schedules.california]', '[schedules.California]', r"\[schedules.California\]: a schedule's name is lower case"),
    ('monday = ["09:00", "17:00"]\ntuesday', 'monday = ["09:00", "27:00"]\ntuesday',
     r"\[business_hours\] monday: '27:00' is not a time of day"),
]


@pytest.mark.parametrize(("old", "new", "message"), MALFORMED_RULES)
def test_a_malformed_rule_or_schedule_is_refused_naming_the_key_and_the_fix(tmp_path, old, new, message):
    path = tmp_path / "policy.toml"
    assert old in SCHEDULES_POLICY
    path.write_text(SCHEDULES_POLICY.replace(old, new, 1))
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_the_default_schedule_can_be_a_named_one(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.replace("default_target_hours", 'default_schedule = "california"\ndefault_target_hours')
                    + SCHEDULES)
    policy = load_policy(path)
    assert policy.default_schedule == "california" and list(policy.schedules) == ["around_the_clock"]
    assert policy.business_hours.timezone == "America/Los_Angeles"
    path.write_text(PL_POLICY.replace("default_target_hours", 'default_schedule = "california"\ndefault_target_hours')
                    + SCHEDULES)
    with pytest.raises(PolicyError, match=r"default_schedule = 'california' and \[business_hours\] both give"):
        load_policy(path)
    path.write_text(POLICY + SCHEDULES)
    with pytest.raises(PolicyError, match=r"with \[schedules.\*\] give the default schedule"):
        load_policy(path)


# --- property: the marts' business hours equal a minute-by-minute count in local time ----------------

PROPERTY_AS_OF = datetime.fromisoformat("2024-12-31T00:00:00+00:00")
PROPERTY_SCHEDULES = {
    # name: (timezone, {weekday (0 = Monday): (opening minute, closing minute)}, holidays)
    "default": ("Europe/Warsaw", {d: (9 * 60, 17 * 60) for d in range(5)}, {date(2024, 4, 1), date(2024, 5, 3)}),
    "california": ("America/Los_Angeles", {**{d: (8 * 60, 18 * 60 + 30) for d in range(5)}, 5: (10 * 60, 14 * 60)},
                   {date(2024, 11, 29)}),
    "around_the_clock": ("America/New_York", {d: (0, 24 * 60) for d in range(7)}, set()),
}
PROPERTY_POLICY = POLICY.replace("as_of = 2024-03-15T12:00:00Z", "as_of = 2024-12-31T00:00:00Z") + """
[business_hours]
timezone = "Europe/Warsaw"
""" + NINE_TO_FIVE + """holidays = ["2024-04-01", "2024-05-03"]

[schedules.california]
timezone = "America/Los_Angeles"
""" + "".join(f'{day} = ["08:00", "18:30"]\n' for day in WEEKDAYS) + """saturday = ["10:00", "14:00"]
holidays = ["2024-11-29"]

[schedules.around_the_clock]
timezone = "America/New_York"
""" + AROUND_THE_CLOCK + """
[[schedule_rules]]
schedule = "california"
priority = ["normal"]

[[schedule_rules]]
schedule = "around_the_clock"
priority = ["low"]
"""
PRIORITY_SCHEDULE = {"High": "default", "Normal": "california", "Low": "around_the_clock"}


def open_minutes(schedule: str, start: datetime, end: datetime) -> int:
    """The minutes from ``start`` to ``end`` (whole UTC minutes) whose local wall time is in the schedule's
    window of its local weekday, on a local date that is no holiday: the plain count."""
    zone, windows, holidays = PROPERTY_SCHEDULES[schedule]
    count, minute = 0, start
    while minute < end:
        local = minute.astimezone(ZoneInfo(zone))
        window = windows.get(local.weekday())
        if window and local.date() not in holidays and window[0] <= local.hour * 60 + local.minute < window[1]:
            count += 1
        minute += timedelta(minutes=1)
    return count


def minutes_at(start: str, offset: int) -> str:
    return (datetime.fromisoformat(start) + timedelta(minutes=offset)).isoformat().replace("+00:00", "Z")


# a ticket: created some minute of 2024 around the daylight-saving changes, closed within ten days
DAYS = ["2024-03-08T00:00:00Z", "2024-03-29T00:00:00Z", "2024-10-25T00:00:00Z", "2024-11-01T00:00:00Z",
        "2024-11-27T00:00:00Z", "2024-04-29T00:00:00Z"]
CREATED_WITHIN, OPEN_AT_MOST = 4 * 24 * 60, 10 * 24 * 60  # minutes after that day; minutes open
tickets = st.lists(st.tuples(
    st.sampled_from([HIGH, NORMAL, LOW]), st.sampled_from(DAYS),
    st.integers(0, CREATED_WITHIN), st.integers(1, OPEN_AT_MOST),
), min_size=6, max_size=12)


def drawn_by(rng) -> list[tuple]:
    """Tickets as `tickets` draws them, from a seeded generator: even the first example is a varied one (a
    strategy's first example is its simplest, six identical tickets), for a test that can afford one build."""
    return [(rng.choice([HIGH, NORMAL, LOW]), rng.choice(DAYS), rng.randint(0, CREATED_WITHIN),
             rng.randint(1, OPEN_AT_MOST)) for _ in range(rng.randint(8, 12))]


def random_tickets(drawn) -> list[dict]:
    """The drawn (priority, day, created minute, minutes open) as closed tickets 900, 901, ..."""
    return [closed_ticket(900 + i, minutes_at(day, created), minutes_at(day, created + open_for), priority)
            for i, (priority, day, created, open_for) in enumerate(drawn)]


def check_against_the_minute_count(made: list[dict], query) -> None:
    """Each ticket's schedule, resolution business hours and closed interval (to as_of) equal the plain count."""
    marts = {r["ticket_id"]: r for r in query("select * from analytics.fct_tickets")}
    closed = {r["ticket_id"]: r["business_hours"] for r in query(
        "select ticket_id, business_hours from analytics.fct_ticket_status_intervals where status = 'closed'")}
    for ticket in made:
        schedule = PRIORITY_SCHEDULE[ticket["priority"]["name"]]
        created_at, closed_at = utc(ticket["created_at"]), utc(ticket["updated_at"])
        row = marts[ticket["id"]]
        assert row["business_schedule"] == schedule, ticket
        minutes = open_minutes(schedule, created_at, closed_at)
        assert row["first_resolution_business_hours"] * 60 == pytest.approx(minutes, abs=1e-6), ticket
        assert row["full_resolution_business_hours"] == row["first_resolution_business_hours"], ticket
        assert closed[ticket["id"]] * 60 == pytest.approx(open_minutes(schedule, closed_at, PROPERTY_AS_OF), abs=1e-6)
        if schedule == "around_the_clock":
            assert row["first_resolution_business_hours"] == row["first_resolution_hours"], ticket


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=tickets)
def test_business_hours_per_schedule_equal_a_minute_by_minute_count(tmp_path_factory, drawn):
    directory = tmp_path_factory.mktemp("property")
    made = random_tickets(drawn)
    (directory / "sla_policy.toml").write_text(PROPERTY_POLICY)
    db = directory / "tickets.duckdb"
    write_raw_tables(db, made, [("2024-12-30T00:00:00Z", t) for t in made])
    build(db, policy_path=directory / "sla_policy.toml")
    check_against_the_minute_count(made, lambda sql: rows(db, sql))


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rng=st.randoms(use_true_random=True))
def test_business_hours_per_schedule_on_postgres_equal_a_minute_by_minute_count(postgres, tmp_path_factory, rng):
    from tests.test_postgres import build_hand_made

    directory = tmp_path_factory.mktemp("property_postgres")
    made = random_tickets(drawn_by(rng))
    database = f"property_{directory.name.rsplit('_', 1)[-1].replace('-', '_')}"
    check_against_the_minute_count(made, build_hand_made(postgres, directory, database, made, PROPERTY_POLICY))
