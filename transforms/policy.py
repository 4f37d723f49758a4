"""The SLA policy: read and check ``sla_policy.toml``, and hand it to the dbt project as its vars
(``as_of`` as an environment variable).

Models never read the wall clock: ``as_of`` is resolved here ("now" is the start of the build) and the
models read it, the default target and the targets per priority from ``int_sla_policy`` and
``int_sla_targets``, which the vars build. The business-hours schedule (``[business_hours]``) is checked
here, in full, so that a mistake in it fails the build before dbt starts, naming the key and the fix.
"""

from __future__ import annotations

import math
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from transforms.calendars import CountryCalendar, check_country
from transforms.errors import TransformError
from transforms.ticket_attributes import TicketAttribute, load_ticket_attributes

DEFAULT_POLICY_PATH = Path(__file__).with_name("sla_policy.toml")
AS_OF_ENV = "USERCOM_AS_OF"

_KEYS = {"as_of", "terminal_statuses", "clock_stopping_statuses", "default_target_hours", "target_hours",
         "sla_clock", "business_hours", "schedules", "default_schedule", "schedule_rules",
         "ticket_attributes"}
DEFAULT_SCHEDULE = "default"  # the name of [business_hours]
RULE_KEYS = ("priority", "company_id", "segment", "attributes__<name>")  # what a schedule rule can match on
SLA_CLOCKS = ("calendar", "business")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE_KEYS = ("timezone", *WEEKDAYS, "holidays")
_CALENDAR_KEYS = ("country", "subdivision", "add", "remove")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ATTRIBUTE = re.compile(r"attributes__[a-z0-9_]+")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PolicyError(TransformError, ValueError):
    """The policy file is missing a setting, has an unknown one, or holds a value of the wrong kind."""


@dataclass(frozen=True)
class BusinessHours:
    """When the business clock runs: one opening window a weekday, in local wall-clock time of ``timezone``
    (an IANA name), closed on the weekdays not listed and all day on ``holidays`` (local dates) and, with a
    ``calendar``, on its country's holidays once expanded for the years the data spans (``with_years``)."""

    timezone: str
    windows: dict[str, tuple[str, str]]  # weekday name -> ("HH:MM", "HH:MM"), the closing later; "24:00" = midnight
    holidays: tuple[date, ...] = ()
    calendar: CountryCalendar | None = None

    def with_years(self, years: range) -> BusinessHours:
        """The schedule with its country calendar turned into plain holidays for ``years``."""
        if self.calendar is None:
            return self
        return replace(self, holidays=tuple(sorted(set(self.holidays) | set(self.calendar.dates(years)))),
                       calendar=None)

    def weekly_open_minutes(self) -> int:
        """Minutes open in a week without holidays."""
        return sum(_minutes(closing) - _minutes(opening) for opening, closing in self.windows.values())

    def as_var(self) -> dict[str, object]:
        """The schedule as the dbt var ``usercom_business_hours`` (the policy file's shape); a country
        calendar must have been expanded first (``with_years``)."""
        if self.calendar is not None:
            raise ValueError("expand the country calendar first: BusinessHours.with_years")
        return {"timezone": self.timezone, **{day: list(self.windows[day]) for day in WEEKDAYS if day in self.windows},
                "holidays": [h.isoformat() for h in self.holidays]}


@dataclass(frozen=True)
class ScheduleRule:
    """Tickets matching every condition run on ``schedule``: ``conditions`` maps a match key (priority,
    company_id, segment or an attributes__ column) to the values any of which matches."""

    schedule: str
    conditions: dict[str, tuple[object, ...]]

    def as_var(self) -> dict[str, object]:
        """The rule as an item of the dbt var ``usercom_schedule_rules``."""
        return {"schedule": self.schedule, **{key: list(values) for key, values in self.conditions.items()}}


@dataclass(frozen=True)
class SlaPolicy:
    """Settings every SLA metric depends on; ``as_of`` is timezone-aware UTC."""

    as_of: datetime
    terminal_statuses: tuple[str, ...]
    clock_stopping_statuses: tuple[str, ...]
    default_target_hours: float
    target_hours: dict[str, float] = field(default_factory=dict)  # keys: lower-cased priority names
    sla_clock: str = "calendar"  # "business": targets are business hours, the breach runs on that clock
    business_hours: BusinessHours | None = None  # the default schedule
    default_schedule: str = DEFAULT_SCHEDULE  # its name
    schedules: dict[str, BusinessHours] = field(default_factory=dict)  # the other named schedules
    schedule_rules: tuple[ScheduleRule, ...] = ()  # the first a ticket matches picks its schedule
    ticket_attributes: tuple[TicketAttribute, ...] = ()  # custom attribute columns carried into fct_tickets

    def all_schedules(self) -> dict[str, BusinessHours]:
        """Every schedule by name, the default first (empty without a schedule)."""
        default = {self.default_schedule: self.business_hours} if self.business_hours else {}
        return {**default, **self.schedules}


def load_policy(path: Path | None = None, as_of_override: datetime | None = None) -> SlaPolicy:
    """Read the SLA policy from ``path`` (default: the packaged ``sla_policy.toml``).

    ``as_of_override`` wins over the file's ``as_of``; ``"now"`` (or no ``as_of``) means the current
    time. Naive datetimes are read as UTC. Raises :class:`PolicyError` on unknown keys or bad values.
    """
    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    with path.open("rb") as f:
        raw = tomllib.load(f)
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise PolicyError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")

    terminal = _statuses(raw, "terminal_statuses", path)
    stopping = _statuses(raw, "clock_stopping_statuses", path, allow_empty=True)
    both = sorted(set(terminal) & set(stopping))
    if both:
        raise PolicyError(f"{path}: {', '.join(both)} cannot be both terminal and clock-stopping")

    targets_raw = raw.get("target_hours", {})
    if not isinstance(targets_raw, dict):
        raise PolicyError(f"{path}: [target_hours] must be a table of priority name = hours")
    targets: dict[str, float] = {}
    for name, hours in targets_raw.items():
        key = name.strip().lower()
        if key in targets:
            raise PolicyError(f"{path}: priority {name!r} is listed twice (names are case-insensitive)")
        targets[key] = _hours(hours, f"target_hours.{name}", path)

    if "default_target_hours" not in raw:
        raise PolicyError(f"{path}: default_target_hours is required")
    schedule = _business_hours(raw["business_hours"], path) if "business_hours" in raw else None
    default_name, schedule, others = _named_schedules(raw, schedule, path)
    rules = _schedule_rules(raw.get("schedule_rules", []), [default_name, *others], path)
    clock = raw.get("sla_clock", "calendar")
    if clock not in SLA_CLOCKS:
        raise PolicyError(f'{path}: sla_clock must be "calendar" or "business", got {clock!r}')
    if clock == "business" and schedule is None:
        raise PolicyError(f'{path}: sla_clock = "business" needs a [business_hours] schedule (timezone and at least '
                          'one weekday, e.g. monday = ["09:00", "17:00"]); or set sla_clock = "calendar"')
    as_of = as_of_override if as_of_override is not None else _as_of(raw.get("as_of", "now"), path)
    attributes = raw.get("ticket_attributes")
    if attributes is not None and not isinstance(attributes, str):
        raise PolicyError(f'{path}: ticket_attributes must be the path of a yml file (e.g. "ticket_attributes.yml", '
                          "relative to the policy file) listing the attribute columns")
    return SlaPolicy(
        as_of=_utc(as_of),
        terminal_statuses=terminal,
        clock_stopping_statuses=stopping,
        default_target_hours=_hours(raw["default_target_hours"], "default_target_hours", path),
        target_hours=targets,
        sla_clock=clock,
        business_hours=schedule,
        default_schedule=default_name,
        schedules=others,
        schedule_rules=rules,
        ticket_attributes=load_ticket_attributes(path.parent / attributes, f"{path}: ticket_attributes")
        if attributes else (),
    )


def needs_first_year(policy: SlaPolicy) -> bool:
    """True when a schedule has a country calendar: :func:`with_holiday_years` needs the first ticket's year."""
    return any(schedule.calendar is not None for schedule in policy.all_schedules().values())


def with_holiday_years(policy: SlaPolicy, first_year: int | None) -> SlaPolicy:
    """The policy with every country calendar expanded into plain holidays, for each year from ``first_year``
    (the earliest ticket's, None for none) less one (the business windows start the day before the first
    ticket) through as_of's next year, and on as far as the business windows reach past as_of: the horizon
    of ``business_horizon_days`` (macros/sla/business_hours.sql), which grows with the holidays after as_of."""
    if not needs_first_year(policy):
        return policy
    first = min(first_year or policy.as_of.year, policy.as_of.year) - 1
    last = policy.as_of.year + 1
    while True:
        expanded = {name: s.with_years(range(first, last + 1)) for name, s in policy.all_schedules().items()}
        horizon = max(_horizon_days(policy, s) for s in expanded.values())
        reach = policy.as_of.date() + timedelta(days=horizon + 2)
        if reach.year <= last:
            default = expanded.pop(policy.default_schedule)
            return replace(policy, business_hours=default, schedules=expanded)
        last = reach.year


def _horizon_days(policy: SlaPolicy, schedule: BusinessHours) -> int:
    """The days past as_of the business windows reach: macros/sla/business_hours.sql's business_horizon_days."""
    since = policy.as_of.date() - timedelta(days=1)
    hours = max([policy.default_target_hours, *policy.target_hours.values()]) + 24 * sum(
        h >= since for h in schedule.holidays)
    return 7 * (math.ceil(hours * 60 / schedule.weekly_open_minutes()) + 2)


def dbt_vars(policy: SlaPolicy) -> dict[str, object]:
    """The policy but as_of as the dbt project's vars (``usercom_target_hours``, ...); see :func:`dbt_env`."""
    return {
        "usercom_terminal_statuses": list(policy.terminal_statuses),
        "usercom_clock_stopping_statuses": list(policy.clock_stopping_statuses),
        "usercom_default_target_hours": policy.default_target_hours,
        "usercom_target_hours": dict(sorted(policy.target_hours.items())),
        "usercom_sla_clock": policy.sla_clock,
        "usercom_business_hours": policy.business_hours.as_var() if policy.business_hours else {},
        "usercom_default_schedule": policy.default_schedule,
        "usercom_schedules": {name: schedule.as_var() for name, schedule in policy.schedules.items()},
        "usercom_schedule_rules": [rule.as_var() for rule in policy.schedule_rules],
        "usercom_ticket_attributes": [a.as_var() for a in policy.ticket_attributes],
    }


def dbt_env(policy: SlaPolicy) -> dict[str, str]:
    """as_of for the dbt project, as the environment variable its ``as_of()`` macro reads first.

    A var that changes makes dbt parse the whole project again (seconds), and as_of changes with
    every build that runs "now"; a changed environment variable re-parses only the models reading it.
    """
    return {AS_OF_ENV: policy.as_of.isoformat()}


def _statuses(raw: dict, key: str, path: Path, *, allow_empty: bool = False) -> tuple[str, ...]:
    values = raw.get(key)
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise PolicyError(f"{path}: {key} must be a list of status names")
    if not values and not allow_empty:
        raise PolicyError(f"{path}: {key} must name at least one status")
    return tuple(dict.fromkeys(v.strip().lower() for v in values))


def _hours(value: object, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PolicyError(f"{path}: {key} must be a number of hours >= 0, got {value!r}")
    return float(value)


def _named_schedules(raw: dict, business_hours: BusinessHours | None,
                     path: Path) -> tuple[str, BusinessHours | None, dict[str, BusinessHours]]:
    """The default schedule's name, the default schedule, and the other named ones (``[schedules.NAME]``):
    ``[business_hours]`` is the default, named "default", unless ``default_schedule`` names one of them."""
    named = raw.get("schedules", {})
    if not isinstance(named, dict) or not all(isinstance(v, dict) for v in named.values()):
        raise PolicyError(f'{path}: schedules must be tables of named schedules, e.g. [schedules.us] with timezone = '
                          '"America/New_York" and monday = ["09:00", "17:00"]')
    schedules = {}
    for name, table in named.items():
        if not _NAME.fullmatch(name) or name == DEFAULT_SCHEDULE:
            raise PolicyError(f"{path}: [schedules.{name}]: a schedule's name is lower case letters, digits and _, "
                              f"starting with a letter, and not {DEFAULT_SCHEDULE!r} (the name of [business_hours])")
        schedules[name] = _business_hours(table, path, f"[schedules.{name}]")
    default_name = raw.get("default_schedule")
    if default_name is None:
        if schedules and business_hours is None:
            raise PolicyError(f"{path}: with [schedules.*] give the default schedule: a [business_hours] table, or "
                              f"default_schedule = one of {', '.join(schedules)}")
        return DEFAULT_SCHEDULE, business_hours, schedules
    if business_hours is not None:
        raise PolicyError(f"{path}: default_schedule = {default_name!r} and [business_hours] both give the default "
                          "schedule: keep one (rename [business_hours] to [schedules.NAME] to name it)")
    if default_name not in schedules:
        raise PolicyError(f"{path}: default_schedule {default_name!r} is not a schedule: name one of "
                          f"{', '.join(schedules) or '(none: add a [schedules.NAME] table)'}")
    default = schedules.pop(default_name)
    return default_name, default, schedules


def _schedule_rules(raw: object, names: list[str], path: Path) -> tuple[ScheduleRule, ...]:
    """The ``[[schedule_rules]]``, in order: each names a known schedule and matches on known keys."""
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise PolicyError(f'{path}: schedule_rules must be an array of tables: [[schedule_rules]] with schedule = '
                          '"NAME" and a match such as priority = ["Urgent"]')
    if raw and len(names) < 2:
        raise PolicyError(f"{path}: schedule_rules pick among schedules, but there is only "
                          f"{names[0]!r}: add [schedules.NAME] tables, or drop the rules")
    rules = []
    for number, table in enumerate(raw, start=1):
        where = f"{path}: schedule_rules #{number}"
        name = table.get("schedule")
        if name not in names:
            raise PolicyError(f"{where}: schedule {name!r} is not a schedule: name one of {', '.join(names)}")
        conditions: dict[str, tuple[object, ...]] = {}
        for key, value in table.items():
            if key == "schedule":
                continue
            if key not in RULE_KEYS[:3] and not _ATTRIBUTE.fullmatch(key):
                raise PolicyError(f"{where}: unknown match key {key!r}: match on {', '.join(RULE_KEYS)} (a custom "
                                  "attribute column, lower case, e.g. attributes__plan)")
            values = value if isinstance(value, list) else [value]
            conditions[key] = tuple(_rule_value(v, key, where) for v in values)
            if not values:
                raise PolicyError(f"{where}: {key} lists no value: give at least one, e.g. {key} = [...]")
        if not conditions:
            raise PolicyError(f"{where}: matches nothing: give a match key ({', '.join(RULE_KEYS)}), e.g. "
                              'priority = ["Urgent"]')
        rules.append(ScheduleRule(schedule=name, conditions=conditions))
    return tuple(rules)


def _rule_value(value: object, key: str, where: str) -> object:
    if key == "company_id":
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{where}: company_id values are company ids (integers), got {value!r}")
        return value
    if key in ("priority", "segment"):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{where}: {key} values are names (text, matched case-insensitively), got {value!r}")
        return value.strip().lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    raise PolicyError(f"{where}: {key} values are text or integers (compared with the attribute as text), got {value!r}")


def _business_hours(raw: object, path: Path, table: str = "[business_hours]") -> BusinessHours:
    """A schedule's table (``[business_hours]`` or ``[schedules.NAME]``), checked key by key; every message
    names the key and the fix."""
    where = f"{path}: {table}"
    if not isinstance(raw, dict):
        raise PolicyError(f'{where} must be a table: timezone = "Europe/Warsaw", monday = ["09:00", "17:00"], ...')
    for key in raw:
        if key not in _SCHEDULE_KEYS:
            raise PolicyError(f"{where} has an unknown key {key!r}: weekdays are {', '.join(WEEKDAYS)} "
                              "(lower case, one opening window each); the other keys are timezone and holidays")
    zone = raw.get("timezone")
    if zone is None:
        raise PolicyError(f'{where} timezone is required: an IANA time zone name such as "Europe/Warsaw"')
    if not isinstance(zone, str) or not _is_time_zone(zone):
        raise PolicyError(f'{where} timezone {zone!r} is not an IANA time zone name: use one such as "Europe/Warsaw", '
                          '"America/New_York" or "UTC" (the zone decides daylight saving)')
    windows = {day: _window(raw[day], day, where) for day in WEEKDAYS if day in raw}
    if not windows:
        raise PolicyError(f'{where} opens on no weekday: give at least one opening window, e.g. monday = ["09:00", "17:00"]')
    holidays = raw.get("holidays", [])
    if isinstance(holidays, dict):
        calendar = _country_calendar(holidays, where)
        return BusinessHours(timezone=zone, windows=windows, holidays=calendar.add, calendar=calendar)
    if not isinstance(holidays, list):
        raise PolicyError(f'{where} holidays must be a list of local dates, e.g. holidays = ["2024-05-01", "2024-12-25"], '
                          'or a country\'s calendar, e.g. holidays = { country = "PL", add = ["2024-12-24"] }')
    return BusinessHours(timezone=zone, windows=windows, holidays=_dates(holidays, where, "holidays"))


def _country_calendar(raw: dict, where: str) -> CountryCalendar:
    """``holidays = { country = "PL", subdivision = "14", add = [...], remove = [...] }``, checked."""
    for key in raw:
        if key not in _CALENDAR_KEYS:
            raise PolicyError(f"{where} holidays has an unknown key {key!r}: the keys are {', '.join(_CALENDAR_KEYS)}, "
                              'e.g. holidays = { country = "PL", add = ["2024-12-24"], remove = ["2024-01-06"] }')
    if "country" not in raw:
        raise PolicyError(f'{where} holidays needs a country, e.g. holidays = {{ country = "PL" }}, or give a list '
                          'of local dates instead')
    problem = check_country(raw["country"], raw.get("subdivision"), where)
    if problem:
        raise PolicyError(problem)
    for key in ("add", "remove"):
        if not isinstance(raw.get(key, []), list):
            raise PolicyError(f'{where} holidays.{key} must be a list of local dates, e.g. {key} = ["2024-12-24"]')
    return CountryCalendar(country=raw["country"].strip().upper(), subdivision=raw.get("subdivision"),
                           add=_dates(raw.get("add", []), where, "holidays.add"),
                           remove=_dates(raw.get("remove", []), where, "holidays.remove"))


def _dates(values: list, where: str, key: str) -> tuple[date, ...]:
    return tuple(sorted({_holiday(value, where, key) for value in values}))


def _minutes(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def _is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return name in zoneinfo.available_timezones()  # not "localtime", "posixrules" and other files of the database


def _window(value: object, day: str, where: str) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise PolicyError(f'{where} {day} must be one opening window ["HH:MM", "HH:MM"] (opening, closing), got '
                          f"{value!r}; leave the weekday out to close it all day")
    opening, closing = (_time_of_day(v, day, where) for v in value)
    if opening == "24:00":
        raise PolicyError(f'{where} {day} opens at "24:00": that is the end of the day; open at "00:00" to "23:59"')
    if closing <= opening:
        raise PolicyError(f"{where} {day} closes at {closing}, not after it opens at {opening}: give "
                          f'["opening", "closing"] with the closing later the same day ("24:00" for midnight); '
                          "leave the weekday out to close it all day")
    return opening, closing


def _time_of_day(value: object, day: str, where: str) -> str:
    if isinstance(value, time) and value.second == 0 and value.microsecond == 0 and value.tzinfo is None:
        return f"{value.hour:02d}:{value.minute:02d}"
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute = int(match[1]), int(match[2])
        if (hour < 24 and minute < 60) or (hour, minute) == (24, 0):
            return f"{hour:02d}:{minute:02d}"
    raise PolicyError(f'{where} {day}: {value!r} is not a time of day: write "HH:MM" from "00:00" to "23:59" '
                      '("24:00" closes at midnight)')


def _holiday(value: object, where: str, key: str = "holidays") -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PolicyError(f'{where} {key}: {value!r} is not a date: write local dates as "YYYY-MM-DD", '
                      f'e.g. {key.split(".")[-1]} = ["2024-05-01", "2024-12-25"]')


def _as_of(value: object, path: Path) -> datetime:
    if isinstance(value, str) and value.strip().lower() == "now":
        return datetime.now(timezone.utc)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(f'{path}: as_of must be "now" or a datetime such as 2024-03-15T12:00:00Z, got {value!r}')


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
