"""When a request is tried again, and how long a retry waits: bounded attempts and total wait, exponential
back-off with full jitter, the server's Retry-After honoured (capped)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from tenacity import RetryCallState

from pipelines.usercom import settings
from pipelines.usercom.errors import Retryable
from pipelines.usercom.times import parse_http_date

log = logging.getLogger("usercom.client")

# network failures worth another try: refused/reset connections, timeouts, a body cut short or undecodable
NETWORK_ERRORS = (
    requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class Throttled(Retryable):
    """The API throttled the request: a 429, or a 401 once the key was accepted (counted per listing)."""


def worth_retrying(error: BaseException) -> bool:
    """429/5xx, bodies cut short, network failures; not a refused TLS certificate, which no retry changes."""
    return isinstance(error, (Retryable, *NETWORK_ERRORS)) and not isinstance(error, requests.exceptions.SSLError)


@dataclass
class RetryPolicy:
    """Bounds of retrying: attempts, total wait, back-off base and cap, and the cap on Retry-After."""

    max_attempts: int = settings.MAX_ATTEMPTS
    max_total_wait: float = settings.MAX_TOTAL_WAIT_SECONDS
    backoff_base: float = settings.BACKOFF_BASE_SECONDS
    backoff_max: float = settings.BACKOFF_MAX_SECONDS
    retry_after_cap: float = settings.RETRY_AFTER_CAP_SECONDS
    rng: random.Random = field(default_factory=random.Random)

    def wait_seconds(self, state: RetryCallState) -> float:
        """Exponential back-off with full jitter, and at least Retry-After when the server sent one (capped)."""
        error = state.outcome.exception() if state.outcome else None
        response = getattr(error, "response", None)
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        backoff = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                log.warning("Retry-After of %.0f s capped at %g s", retry_after, self.retry_after_cap)
            # the least wait: a server that says 0 and throttles again gets the back-off too (else four listings
            # retrying at once can spend every attempt within a tenth of a second)
            return max(min(retry_after, self.retry_after_cap), backoff)
        return backoff


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header given as seconds or an HTTP date; None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
