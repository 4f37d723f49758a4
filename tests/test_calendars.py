"""Country holiday calendars in the business-hours schedule: ``holidays = { country = "PL", add = [...],
remove = [...] }`` expanded with the ``holidays`` library for the years the data spans, checked before
anything runs, and the hand-worked business hours and breaches they give on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from tests.test_transforms import BUSINESS_SCHEDULE, HIGH, LOW, NORMAL, POLICY, build, closed_ticket, rows, utc, write_raw_tables
from transforms.policy import PolicyError, load_policy, with_holiday_years

# Poland: Europe/Warsaw, Monday to Friday 09:00-17:00 (08:00-16:00Z in winter, 07:00-15:00Z in summer), on
# the business clock (targets in business hours: High 8, Normal 24, Low 72), as_of 2025-01-15 12:00Z. The
# library's 2024 holidays for PL that fall on weekdays: 01-01, 04-01 (Easter Monday), 05-01, 05-03,
# 05-30 (Corpus Christi), 08-15, 11-01, 11-11, 12-25, 12-26; the team adds 12-24 and removes 11-11.
PL_AS_OF = "2025-01-15T12:00:00Z"
PL_SCHEDULE = BUSINESS_SCHEDULE.replace('holidays = ["2024-05-01", "2024-05-03"]',
                                       'holidays = { country = "PL", add = ["2024-12-24"], remove = ["2024-11-11"] }')
PL_POLICY = (POLICY.replace("as_of = 2024-03-15T12:00:00Z", f'as_of = {PL_AS_OF}\nsla_clock = "business"')
             + PL_SCHEDULE)

PL_TICKETS = [
    # 601 Friday 03-29 16:00 CET -> Tuesday 04-02 10:00 CEST across Easter Monday: 1 + 0 + 1 = 2 h (calendar
    # 89 h). High 8 h: 1 h Friday, Tuesday 09:00 + 7 h -> 16:00 CEST (14:00Z); met.
    closed_ticket(601, "2024-03-29T15:00:00Z", "2024-04-02T08:00:00Z", HIGH),
    # 602 on Easter Monday 04-01 10:00-12:00 CEST: 0 h. Normal 24 h from Tuesday 09:00: Tue, Wed, Thu ->
    # Thursday 04-04 17:00 CEST (15:00Z).
    closed_ticket(602, "2024-04-01T08:00:00Z", "2024-04-01T10:00:00Z", NORMAL),
    # 603 on 3 May (a Friday) 10:00-12:00 CEST: 0 h. Normal 24 h: Mon 05-06, Tue, Wed -> 05-08 17:00 CEST (15:00Z).
    closed_ticket(603, "2024-05-03T08:00:00Z", "2024-05-03T10:00:00Z", NORMAL),
    # 604 on the added 12-24 (Tuesday) 10:00-12:00 CET: 0 h. High 8 h: 12-25 and 12-26 holidays too, Friday
    # 12-27 09:00 + 8 h -> 17:00 CET (16:00Z).
    closed_ticket(604, "2024-12-24T09:00:00Z", "2024-12-24T11:00:00Z", HIGH),
    # 605 on the removed 11-11 (Monday) 10:00-12:00 CET: open, 2 h. High 8 h: 10:00 + 7 h = 17:00, Tuesday
    # 11-12 09:00 + 1 h -> 10:00 CET (09:00Z).
    closed_ticket(605, "2024-11-11T09:00:00Z", "2024-11-11T11:00:00Z", HIGH),
    # 606 Thursday 05-30 (Corpus Christi) 10:00 -> Friday 05-31 10:00 CEST: 0 + 1 = 1 h. Low 72 h = 9 days
    # from Friday 09:00: Fri 05-31, Mon 06-03 .. Wed 06-12 -> Wednesday 06-12 17:00 CEST (15:00Z).
    closed_ticket(606, "2024-05-30T08:00:00Z", "2024-05-31T08:00:00Z", LOW),
]

PL_EXPECTED = {
    # id: (first_resolution_hours, first_resolution_business_hours, sla_breach_at)
    601: (89, 2, "2024-04-02T14:00Z"),
    602: (2, 0, "2024-04-04T15:00Z"),
    603: (2, 0, "2024-05-08T15:00Z"),
    604: (2, 0, "2024-12-27T16:00Z"),
    605: (2, 2, "2024-11-12T09:00Z"),
    606: (24, 1, "2024-06-12T15:00Z"),
}

PL_WINDOWS = {
    "2024-04-01": None,  # Easter Monday
    "2024-04-02": ("2024-04-02T07:00Z", "2024-04-02T15:00Z"),
    "2024-05-03": None,
    "2024-11-11": ("2024-11-11T08:00Z", "2024-11-11T16:00Z"),  # removed: open
    "2024-12-24": None,  # added
    "2025-01-06": None,  # Epiphany of as_of's year (a Monday): the years past the data's are expanded too
    "2025-01-07": ("2025-01-07T08:00Z", "2025-01-07T16:00Z"),
}

# California: America/Los_Angeles, Monday to Friday 09:00-17:00, the US calendar of subdivision CA, which
# has two weekday holidays the federal one lacks in 2024: Cesar Chavez Day observed (Monday 04-01) and the
# day after Thanksgiving (Friday 11-29).
CA_SCHEDULE = PL_SCHEDULE.replace('"Europe/Warsaw"', '"America/Los_Angeles"').replace(
    'holidays = { country = "PL", add = ["2024-12-24"], remove = ["2024-11-11"] }',
    'holidays = { country = "US", subdivision = "CA" }')
CA_POLICY = POLICY.replace("as_of = 2024-03-15T12:00:00Z", f'as_of = {PL_AS_OF}\nsla_clock = "business"') + CA_SCHEDULE

CA_TICKETS = [
    # 701 Friday 03-29 16:00 PDT -> Tuesday 04-02 10:00 PDT across Cesar Chavez Day: 1 + 0 + 1 = 2 h (calendar
    # 90 h; 10 h on the federal calendar). High 8 h: Tuesday 09:00 + 7 h -> 16:00 PDT (23:00Z).
    closed_ticket(701, "2024-03-29T23:00:00Z", "2024-04-02T17:00:00Z", HIGH),
    # 702 on the day after Thanksgiving, 11-29 10:00-12:00 PST: 0 h. Normal 24 h: Mon 12-02, Tue, Wed ->
    # Wednesday 12-04 17:00 PST (12-05 01:00Z).
    closed_ticket(702, "2024-11-29T18:00:00Z", "2024-11-29T20:00:00Z", NORMAL),
]

CA_EXPECTED = {
    701: (90, 2, "2024-04-02T23:00Z"),
    702: (2, 0, "2024-12-05T01:00Z"),
}


def check_calendar_marts(query, expected: dict, windows: dict, schedule: str = "default") -> None:
    """The hand-worked business hours, breaches and windows of a country calendar (``schedule``'s), through ``query``."""
    tickets = {r["ticket_id"]: r for r in query("select * from analytics.fct_tickets")}
    for ticket_id, (hours, business_hours, breach_at) in expected.items():
        t = tickets[ticket_id]
        got = (t["first_resolution_hours"], t["first_resolution_business_hours"], t["sla_breach_at"])
        assert got == (hours, business_hours, utc(breach_at)), ticket_id
        assert t["is_sla_breached"] is False, ticket_id
    got_windows = {r["local_date"].isoformat(): (r["opens_at"], r["closes_at"])
                   for r in query("select * from analytics_internal.int_business_windows "
                                  f"where schedule_name = '{schedule}'")}
    for day, window in windows.items():
        assert got_windows[day] == (tuple(utc(x) for x in window) if window else (None, None)), day


def built_with(tmp_path, tickets, policy):
    (tmp_path / "sla_policy.toml").write_text(policy)
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, tickets, [("2025-01-15T00:00:00Z", t) for t in tickets])
    build(db, policy_path=tmp_path / "sla_policy.toml")
    return lambda sql: rows(db, sql)


def test_polish_holidays_with_additions_and_removals_give_no_business_hours(schedules_on_duckdb):
    # the Polish calendar is the default schedule of tests/test_schedules.py's policy, its tickets on it
    check_calendar_marts(schedules_on_duckdb, PL_EXPECTED, PL_WINDOWS)


def test_a_californian_state_holiday_closes_the_californian_schedule(tmp_path):
    check_calendar_marts(built_with(tmp_path, CA_TICKETS, CA_POLICY), CA_EXPECTED, {"2024-04-01": None})


def test_holidays_on_postgres_equal_the_hand_worked_values(schedules_on_postgres):
    # one build of tests/test_schedules.py's policy: the Polish calendar the default, California's a named schedule
    check_calendar_marts(schedules_on_postgres, PL_EXPECTED, PL_WINDOWS)
    check_calendar_marts(schedules_on_postgres, CA_EXPECTED, {"2024-04-01": None}, schedule="california")


def test_the_calendar_is_expanded_for_every_year_from_the_first_ticket_through_as_ofs_next(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(PL_POLICY)
    policy = with_holiday_years(load_policy(path), 2019)
    days = set(policy.business_hours.holidays)
    assert {date(2018, 12, 25), date(2019, 4, 22), date(2024, 4, 1), date(2024, 5, 3), date(2026, 4, 6)} <= days
    assert date(2024, 12, 24) in days and date(2024, 11, 11) not in days  # added, removed
    assert date(2023, 11, 11) in days  # removed for 2024 only
    assert min(d.year for d in days) == 2018 and max(d.year for d in days) == 2026
    assert policy.business_hours.calendar is None and policy.business_hours.as_var()["holidays"][0] == "2018-01-01"
    without_tickets = with_holiday_years(load_policy(path), None)
    assert min(without_tickets.business_hours.holidays).year == 2024  # as_of's year less one


def test_a_long_target_expands_the_calendar_as_far_as_the_breach_can_reach(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(PL_POLICY.replace("default_target_hours = 48", "default_target_hours = 4000"))
    policy = with_holiday_years(load_policy(path), 2024)
    # 4000 h at 40 h a week is 100 weeks and more for the holidays: past 2026, as_of's next year
    assert max(d.year for d in policy.business_hours.holidays) >= 2027


def test_federal_and_state_calendars_differ_by_the_state_holidays(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(CA_POLICY)
    californian = set(with_holiday_years(load_policy(path), 2024).business_hours.holidays)
    path.write_text(CA_POLICY.replace(', subdivision = "CA"', ""))
    federal = set(with_holiday_years(load_policy(path), 2024).business_hours.holidays)
    assert {date(2024, 4, 1), date(2024, 11, 29)} <= californian - federal
    assert date(2024, 11, 28) in federal & californian


MALFORMED_CALENDARS = [
    ('{ country = "XX" }', r"\[business_hours\] holidays.country 'XX' is not a country the holidays library knows"),
    ('{ country = "PLN" }', r"holidays.country 'PLN' .*\(did you mean .*PL.*\?\)"),
    ('{ country = "US", subdivision = "ZZ" }',
     r"holidays.subdivision 'ZZ' is not a subdivision of US: valid ones are AK, AL, .*CA, "),
    ('{ country = "PL", region = "14" }', r"holidays has an unknown key 'region': the keys are country, subdivision"),
    ('{ add = ["2024-12-24"] }', r'holidays needs a country, e.g. holidays = \{ country = "PL" \}'),
    ('{ country = "PL", add = ["2024-12-32"] }', r"holidays.add: '2024-12-32' is not a date"),
    ('{ country = "PL", remove = "2024-11-11" }', r"holidays.remove must be a list of local dates"),
]


@pytest.mark.parametrize(("value", "message"), MALFORMED_CALENDARS)
def test_a_malformed_calendar_is_refused_naming_the_key_and_the_fix(tmp_path, value, message):
    path = tmp_path / "policy.toml"
    path.write_text(PL_POLICY.replace('{ country = "PL", add = ["2024-12-24"], remove = ["2024-11-11"] }', value))
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_an_unknown_country_fails_the_command_before_dbt_starts(tmp_path):
    from tests.test_http_contract import cli

    data = tmp_path / "data"
    data.mkdir()
    write_raw_tables(data / "tickets.duckdb", PL_TICKETS, [])
    policy = tmp_path / "policy.toml"
    policy.write_text(PL_POLICY.replace('country = "PL"', 'country = "Poland"'))
    result = cli("transform", "--data-dir", str(data), "--policy", str(policy))
    assert result.returncode == 4  # configuration
    assert result.stderr.strip().splitlines() == [
        f"error: {policy}: [business_hours] holidays.country 'Poland' is not a country the holidays library knows "
        '(did you mean PL, PA?): give an ISO 3166-1 alpha-2 code such as "PL", "US" or "DE"']
    assert not list(data.rglob("run_results.json"))  # dbt never started


def test_the_calendars_come_with_the_library_and_need_no_network():
    # every socket refuses to connect: the library computes the holidays from the rules it ships
    code = ("import socket\n"
            "def refuse(*args, **kwargs): raise OSError('no network')\n"
            "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
            "import holidays\n"
            "days = holidays.country_holidays('PL', years=range(2000, 2031))\n"
            "assert len(days) > 300 and '2024-04-01' in days, len(days)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_without_a_country_calendar_the_policy_is_as_it_was(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(PL_POLICY.replace('{ country = "PL", add = ["2024-12-24"], remove = ["2024-11-11"] }',
                                      '["2024-05-01"]'))
    policy = load_policy(path)
    assert with_holiday_years(policy, 2020) is policy
    assert policy.business_hours.holidays == (date(2024, 5, 1),) and policy.as_of == datetime(2025, 1, 15, 12, tzinfo=UTC)
