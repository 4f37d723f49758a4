"""What a failed run says about its failure, in one line: for the command line's `error:` line and the run log's
`error` column. Which exception of a chain to show, dlt's exceptions said as ours (cause and fix), whether the run
was interrupted, and no secret in the text."""

from __future__ import annotations

import errno
import re
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

from dlt.common.configuration.exceptions import ConfigFieldMissingException, LookupTrace
from dlt.common.destination.exceptions import DestinationException, DestinationUndefinedEntity, UnknownDestinationModule

from pipelines.run_errors import DestinationFailed, UnknownDestination
from pipelines.usercom.errors import UsercomConfigError, UsercomError, missing_config_error
from transforms.errors import TransformError

MAX_CHARS = 1000  # a line for a dashboard's cell, not a traceback
# secrets an error text may carry although none of ours puts them there: a URL's password, an Authorization value
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_AUTHORIZATION = re.compile(r"(?P<head>\b(?:token|bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what caused it (`__cause__`, else `__context__`), each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def translated(error: BaseException) -> BaseException:
    """`error`, or, when the first known exception of its chain is one of dlt's, ours in its place saying the cause
    and the fix (caused by `error`): an unknown destination lists the ones there are, missing settings name the
    environment variable and the `.dlt/secrets.toml` key, a missing table says to run first."""
    for item in chain(error):
        if isinstance(item, (UsercomError, TransformError)):
            return error
        ours = _said_as_ours(item)
        if ours is not None:
            ours.__cause__ = error
            return ours
    return error


def _said_as_ours(error: BaseException) -> Exception | None:
    if isinstance(error, UnknownDestinationModule):
        return unknown_destination(error.ref)
    if isinstance(error, ConfigFieldMissingException):
        return missing_settings(error)
    if isinstance(error, DestinationUndefinedEntity):
        return DestinationFailed(f"{_first_line(error)}: the destination has no such table or dataset yet; run "
                                 "`usercom-tickets run` on it first, or check --destination and --data-dir")
    if isinstance(error, OSError) and error.errno in _FILE_ERRNOS and error.filename:
        from pipelines.publish_errors import fix

        path = Path(error.filename)
        return DestinationFailed(f"cannot write {path}: {error.strerror}. {fix(error.errno, path, 'then run again')}")
    if type(error).__name__ == "OperationalError":  # DB-API's name for a connection that failed, in every driver
        return DestinationFailed(f"cannot connect to the destination: {_first_line(error)}; check that the server "
                                 "is running and reachable at the host and port of its credentials "
                                 "(DESTINATION__<NAME>__CREDENTIALS), then run again")
    if isinstance(error, DestinationException) or type(error).__name__ == "IOException":  # dlt's, DuckDB's
        innermost = list(chain(error))[-1]
        return DestinationFailed(f"the destination failed: {_first_line(innermost)}; check that it is reachable, "
                                 "has free space and that the credentials may write there, then run again")
    return None


# what a file the run writes can fail with that the user can fix (a full disk, a read-only or protected folder)
_FILE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM)


def unknown_destination(name: str) -> UnknownDestination:
    """The error for a destination name dlt does not know: the local ones, dlt's, and those the marts build on."""
    return UnknownDestination(f"unknown destination {name!r}: choose one of "
                              f"{known_destinations(name, 'pass it as --destination')}")


def known_destinations(name: str, how: str) -> str:
    """The destinations there are, then in brackets `how` to give one, those the SLA marts build on, and what makes
    `name` a named destination: the fix for an unknown destination name."""
    import dlt.destinations

    from pipelines.job.pipeline import LOCAL_DESTINATIONS
    from transforms.warehouse import SUPPORTED

    known = [*LOCAL_DESTINATIONS, *(x for x in dlt.destinations.__all__ if x not in LOCAL_DESTINATIONS + ("destination",))]
    return (f"{', '.join(known)} ({how}; the SLA marts build on {', '.join(SUPPORTED)}; a named destination needs "
            f"DESTINATION__{name.upper()}__DESTINATION_TYPE)")


# what a destination's connection string looks like, for the fix of missing credentials
_CREDENTIALS_EXAMPLES = {
    "postgres": "postgresql://user:password@host:5432/database",
    "redshift": "redshift://user:password@host:5439/database",
    "motherduck": "md:///database?motherduck_token=...",
    "snowflake": "snowflake://user:password@account/database?warehouse=...&role=...",
    "mssql": "mssql://user:password@host:1433/database",
    "clickhouse": "clickhouse://user:password@host:9440/database",
}


def missing_settings(error: ConfigFieldMissingException) -> UsercomConfigError | None:
    """The one-line error for settings dlt could not find: each as an environment variable and as the key in its
    `.dlt/secrets.toml` section (the usercom source's, `missing_config_error`); None when none of the missing
    fields is a setting of a section (dlt's own, e.g. a filesystem destination's `local_dir` outside a pipeline)."""
    where = [found for field, traces in error.traces.items() if field in error.fields
             if (found := _setting(field, traces))[0]]
    if not where:
        return None
    if any(section[:2] == ["sources", "usercom"] for section, _, _ in where):
        return missing_config_error(error)
    section = where[0][0]
    destination = section[0] == "destination" and len(section) > 1
    example = _CREDENTIALS_EXAMPLES.get(section[-1], "...") if destination else "..."
    values = [(key, env, example if key == "credentials" else "...") for _, key, env in where]
    return UsercomConfigError(
        f"{f'the {section[-1]} destination' if destination else 'this run'} is missing "
        f"{', '.join(key for key, _, _ in values)}: set {' and '.join(f'{env}={value!r}' for _, env, value in values)} "
        f"in the environment, or in .dlt/secrets.toml: [{'.'.join(section)}] "
        f"{' '.join(f'{key} = {chr(34)}{value}{chr(34)}' for key, _, value in values)}"
    )


def _setting(field: str, traces: list) -> tuple[list[str], str, str]:
    """(section, key, environment variable) of a missing `field`, from where dlt looked first: a whole
    configuration (credentials) is named as one value, not its parts."""
    first = traces[0] if traces else None
    if first is not None and not isinstance(first, LookupTrace):  # a nested configuration: its own fields' traces
        first = next((t[0] for t in first.traces.values() if t), None)
        if first is not None:
            section = list(first.sections[:-1])
            return section, field, "__".join([*section, field]).upper()
    if first is None:
        return [], field, field.upper()
    return list(first.sections), field, first.key


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def explain(error: BaseException) -> str:
    """The most specific message in an exception chain: ours when we raised one, else the innermost."""
    found = list(chain(error))
    for item in found:
        if isinstance(item, (UsercomError, TransformError)):
            return str(item)
    return _first_line(found[-1])


def interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt in `error`'s chain (Ctrl-C, SIGTERM, dlt's signal exception), None for a failure.

    dlt wraps what interrupts one of its steps in `PipelineStepFailed`, so the interrupt is looked for in the chain."""
    return next((x for x in chain(error) if isinstance(x, KeyboardInterrupt)), None)


def signal_of(interrupt: KeyboardInterrupt) -> signal.Signals:
    """SIGTERM or SIGINT: the signal `interrupt` stands for (Ctrl-C's KeyboardInterrupt carries none: SIGINT)."""
    return signal.Signals(getattr(interrupt, "signal_code", None) or getattr(interrupt, "signum", None) or signal.SIGINT)


def one_line(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` on one line, at most MAX_CHARS long, without `secrets` (given values, e.g. the API key) and without
    a password in a URL or a token after `Token`/`Bearer`/`Basic`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    text = _AUTHORIZATION.sub(r"\g<head>***", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
