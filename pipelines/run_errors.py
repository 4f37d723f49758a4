"""The errors of a run outside the extract layer (which has its own, `pipelines/usercom/errors.py`), each for one
exit code (`pipelines/exit_codes.py`); every message names the cause and the fix."""

from __future__ import annotations

from pipelines.usercom.errors import UsercomError


class UsageError(UsercomError):
    """The command line asked for something that cannot be done as given (an option, or a combination of them)."""


class DestinationFailed(UsercomError):
    """The warehouse, the data directory or a file in it cannot be opened, read or written (or holds no data yet)."""


class UnknownDestination(UsageError):
    """`--destination` names no destination dlt knows."""
