"""Every conversion between the API's forms of time (ISO 8601 text, HTTP dates) and the run's (aware UTC
datetimes, µs since the epoch, as Arrow stores them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of `micros` µs since the epoch."""
    return EPOCH + timedelta(microseconds=micros)


def parse_iso(text: str) -> datetime:
    """A UTC datetime from any ISO 8601 form Python reads; a value without zone is taken as UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_http_date(value: str | None) -> datetime | None:
    """The aware datetime of an HTTP date (a `Date` or `Retry-After` header); None when absent or unreadable."""
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
