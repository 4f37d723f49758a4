"""The SLA policy: read and check ``sla_policy.toml``, and hand it to the dbt project as its vars
(``as_of`` as an environment variable).

Models never read the wall clock: ``as_of`` is resolved here ("now" is the start of the build) and the
models read it, the default target and the targets per priority from ``int_sla_policy`` and
``int_sla_targets``, which the vars build.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from transforms.errors import TransformError

DEFAULT_POLICY_PATH = Path(__file__).with_name("sla_policy.toml")
AS_OF_ENV = "USERCOM_AS_OF"

_KEYS = {"as_of", "terminal_statuses", "clock_stopping_statuses", "default_target_hours", "target_hours"}


class PolicyError(TransformError, ValueError):
    """The policy file is missing a setting, has an unknown one, or holds a value of the wrong kind."""


@dataclass(frozen=True)
class SlaPolicy:
    """Settings every SLA metric depends on; ``as_of`` is timezone-aware UTC."""

    as_of: datetime
    terminal_statuses: tuple[str, ...]
    clock_stopping_statuses: tuple[str, ...]
    default_target_hours: float
    target_hours: dict[str, float] = field(default_factory=dict)  # keys: lower-cased priority names


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
    as_of = as_of_override if as_of_override is not None else _as_of(raw.get("as_of", "now"), path)
    return SlaPolicy(
        as_of=_utc(as_of),
        terminal_statuses=terminal,
        clock_stopping_statuses=stopping,
        default_target_hours=_hours(raw["default_target_hours"], "default_target_hours", path),
        target_hours=targets,
    )


def dbt_vars(policy: SlaPolicy) -> dict[str, object]:
    """The policy but as_of as the dbt project's vars (``usercom_target_hours``, ...); see :func:`dbt_env`."""
    return {
        "usercom_terminal_statuses": list(policy.terminal_statuses),
        "usercom_clock_stopping_statuses": list(policy.clock_stopping_statuses),
        "usercom_default_target_hours": policy.default_target_hours,
        "usercom_target_hours": dict(sorted(policy.target_hours.items())),
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
