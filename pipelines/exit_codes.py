"""The exit codes of `usercom-tickets`, one table for the command line, its docs and a scheduler's alerting; and which
code each error of a run ends with (`exit_code_of`)."""

from __future__ import annotations

from enum import IntEnum

from pipelines.error_text import chain


class ExitCode(IntEnum):
    """What a run's exit code says; `meaning` is its line in the docs' table (docs/operations.md, the README)."""

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    OK = 0, "done"
    BUG = 1, "unexpected failure (a bug): run again with -v and report the traceback"
    USAGE = 2, "bad command-line arguments: the message names the option and the fix"
    DELETIONS_HELD = 3, "loaded and built, but the deletions were held by the mass-deletion guard"
    CONFIGURATION = 4, "configuration: a setting, secret, policy file or credentials missing or wrong"
    API = 5, "User.com refused or failed: the key, the subdomain, an outage after retries"
    DESTINATION = 6, "destination or files: the warehouse, the data directory or an output file cannot be opened or written"
    MARTS = 7, "marts: the dbt build or its data tests failed; the previous build stays published"
    REJECTED = 8, "tickets were rejected and --strict was given (the run itself loaded)"
    LOCKED = 75, "another run holds the data directory; this one did nothing (try again later)"
    INTERRUPTED = 130, ("interrupted by SIGINT (Ctrl-C); the message says what was committed (on DuckDB, nothing of an "
                        "unfinished load)")
    TERMINATED = 143, "interrupted by SIGTERM (a scheduler stopping the job); as for 130"


def exit_code_of(error: BaseException) -> ExitCode:
    """The exit code of a command that ended with `error` (as `error_text.translated` gives it): that of the first
    error of ours in its chain, else BUG."""
    for item in chain(error):
        for classes, code in _by_class():
            if isinstance(item, classes):
                return code
    return ExitCode.BUG


def _by_class() -> tuple[tuple[tuple[type[BaseException], ...], ExitCode], ...]:
    """Which of our errors ends with which code, most specific first; imported here, when a command failed (the
    marts' errors load DuckDB and dlt), not when the command line starts."""
    from pipelines.publish_errors import PublishError
    from pipelines.run_errors import DestinationFailed, UsageError
    from pipelines.usercom.errors import (
        RunLockedError,
        UsercomConfigError,
        UsercomHTTPError,
        UsercomPaginationError,
        UsercomResponseError,
    )
    from transforms.errors import DataTestFailed, DestinationUnavailable, MartsUnsupported, ModelFailed, RawDataMissing
    from transforms.policy import PolicyError
    from transforms.report import MartsNotBuilt
    from transforms.ticket_attributes import TicketAttributesError

    return (
        ((RunLockedError,), ExitCode.LOCKED),
        ((UsageError,), ExitCode.USAGE),
        ((UsercomConfigError, PolicyError, TicketAttributesError, MartsUnsupported), ExitCode.CONFIGURATION),
        ((UsercomHTTPError, UsercomResponseError, UsercomPaginationError), ExitCode.API),
        ((PublishError, DestinationFailed, RawDataMissing, DestinationUnavailable), ExitCode.DESTINATION),
        ((ModelFailed, DataTestFailed, MartsNotBuilt), ExitCode.MARTS),
    )


def table_markdown() -> str:
    """The exit codes as a Markdown table (code, meaning), for the docs."""
    return "\n".join(["| code | meaning |", "| --- | --- |", *(f"| {c.value} | {c.meaning} |" for c in ExitCode)])
