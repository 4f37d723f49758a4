"""What a failed run says about its failure, in one line: for the command line's `error:` line and the run log's
`error` column. Which exception of a chain to show, whether the run was interrupted, and no secret in the text."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Iterator

from pipelines.usercom.errors import UsercomError
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


def explain(error: BaseException) -> str:
    """The most specific message in an exception chain: ours when we raised one, else the innermost."""
    found = list(chain(error))
    for item in found:
        if isinstance(item, (UsercomError, TransformError)):
            return str(item)
    innermost = found[-1]
    return f"{type(innermost).__name__}: {str(innermost).strip().splitlines()[0] if str(innermost).strip() else ''}"


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
