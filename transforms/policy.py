"""The SLA policy: read and check ``sla_policy.toml``, and hand it to the dbt project as its vars
(``as_of`` as an environment variable).

Models never read the wall clock: ``as_of`` is resolved here ("now" is the start of the build) and the
models read it, the default target and the targets per priority from ``int_sla_policy`` and
``int_sla_targets``, which the vars build. The business-hours schedule (``[business_hours]``) is checked
here, in full, so that a mistake in it fails the build before dbt starts, naming the key and the fix.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path

from transforms.errors import TransformError
from transforms.ticket_attributes import TicketAttribute, load_ticket_attributes

DEFAULT_POLICY_PATH = Path(__file__).with_name("sla_policy.toml")
AS_OF_ENV = "USERCOM_AS_OF"

_KEYS = {"as_of", "terminal_statuses", "clock_stopping_statuses", "default_target_hours", "target_hours",
         "sla_clock", "business_hours", "ticket_attributes"}
SLA_CLOCKS = ("calendar", "business")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE_KEYS = ("timezone", *WEEKDAYS, "holidays")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PolicyError(TransformError, ValueError):
    """The policy file is missing a setting, has an unknown one, or holds a value of the wrong kind."""


@dataclass(frozen=True)
class BusinessHours:
    """When the business clock runs: one opening window a weekday, in local wall-clock time of ``timezone``
    (an IANA name), closed on the weekdays not listed and all day on ``holidays`` (local dates)."""

    timezone: str
    windows: dict[str, tuple[str, str]]  # weekday name -> ("HH:MM", "HH:MM"), the closing later; "24:00" = midnight
    holidays: tuple[date, ...] = ()

    def as_var(self) -> dict[str, object]:
        """The schedule as the dbt var ``usercom_business_hours`` (the policy file's shape)."""
        return {"timezone": self.timezone, **{day: list(self.windows[day]) for day in WEEKDAYS if day in self.windows},
                "holidays": [h.isoformat() for h in self.holidays]}


@dataclass(frozen=True)
class SlaPolicy:
    """Settings every SLA metric depends on; ``as_of`` is timezone-aware UTC."""

    as_of: datetime
    terminal_statuses: tuple[str, ...]
    clock_stopping_statuses: tuple[str, ...]
    default_target_hours: float
    target_hours: dict[str, float] = field(default_factory=dict)  # keys: lower-cased priority names
    sla_clock: str = "calendar"  # "business": targets are business hours, the breach runs on that clock
    business_hours: BusinessHours | None = None
    ticket_attributes: tuple[TicketAttribute, ...] = ()  # custom attribute columns carried into fct_tickets


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
        ticket_attributes=load_ticket_attributes(path.parent / attributes, f"{path}: ticket_attributes")
        if attributes else (),
    )


def dbt_vars(policy: SlaPolicy) -> dict[str, object]:
    """The policy but as_of as the dbt project's vars (``usercom_target_hours``, ...); see :func:`dbt_env`."""
    return {
        "usercom_terminal_statuses": list(policy.terminal_statuses),
        "usercom_clock_stopping_statuses": list(policy.clock_stopping_statuses),
        "usercom_default_target_hours": policy.default_target_hours,
        "usercom_target_hours": dict(sorted(policy.target_hours.items())),
        "usercom_sla_clock": policy.sla_clock,
        "usercom_business_hours": policy.business_hours.as_var() if policy.business_hours else {},
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


def _business_hours(raw: object, path: Path) -> BusinessHours:
    """The ``[business_hours]`` table, checked key by key; every message names the key and the fix."""
    where = f"{path}: [business_hours]"
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
    if not isinstance(holidays, list):
        raise PolicyError(f'{where} holidays must be a list of local dates, e.g. holidays = ["2024-05-01", "2024-12-25"]')
    return BusinessHours(timezone=zone, windows=windows,
                         holidays=tuple(sorted({_holiday(value, where) for value in holidays})))


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


def _holiday(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PolicyError(f'{where} holidays: {value!r} is not a date: write local dates as "YYYY-MM-DD", '
                      'e.g. holidays = ["2024-05-01", "2024-12-25"]')


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
