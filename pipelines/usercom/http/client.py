"""One answer from the API, as a run asks for it: auth headers, pacing, a deadline on the whole request, retries
within bounds, and the errors that name the cause and the fix.

dlt's RESTClient is not used: its JSONLinkPaginator parses every page a second time to find `next`
(at 100k tickets that second `json.loads` alone costs about as much as all of our flattening), and
dlt's retrying `Client` has neither jitter nor a bound on the total wait. This module and pages/pagination.py
are the small loop both would replace, on urllib3 (transport.py) and tenacity (a dlt dependency).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode, urljoin

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from pipelines.usercom import settings
from pipelines.usercom.errors import Halted, Retryable, UsercomHTTPError, http_error
from pipelines.usercom.http.deadline import Deadline
from pipelines.usercom.http.pacing import Pacer
from pipelines.usercom.http.page import server_message
from pipelines.usercom.http.read_ahead import ReadAheads
from pipelines.usercom.http.retries import NETWORK_ERRORS, RetryPolicy, Throttled, parse_retry_after, worth_retrying
from pipelines.usercom.http.transport import Answer, Transport
from pipelines.usercom.http.urls import checked_next, origin, redact_url
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.stopping import requests_stopped

log = logging.getLogger("usercom.client")

T = TypeVar("T")


class TicketsClient:
    """Reads the tickets API of one account, on the base URL's origin only; shared by the listings of a run."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        status_param: str = settings.STATUS_PARAM,
        page_size: int | None = None,
        timeout: tuple[float, float] = settings.REQUEST_TIMEOUT,
        retry: RetryPolicy | None = None,
        columnar: bool = True,
        pacer: Pacer | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.status_param = status_param
        self.page_size = page_size
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._origin = origin(self.base_url)
        self._api_key = api_key
        self.columnar = columnar  # pages read by Arrow's JSON reader (pages/); false: parsed to JSON, row by row
        self.pacer = pacer or Pacer()
        self.key_accepted = threading.Event()  # a request of this client succeeded with the key
        self.read_aheads = ReadAheads()
        self._http_links_said = threading.Event()

    def open_session(self) -> Transport:
        """A keep-alive connection to the API's host carrying the key; one per listing (one thread)."""
        return Transport(self.base_url, {"Authorization": f"Token {self._api_key}", "Accept": settings.ACCEPT_HEADER},
                         self.timeout)

    def first_url(self, status: str | None) -> str:
        """URL of the first page of a listing, with the status filter (and page size, if set)."""
        params = {}
        if status:
            params[self.status_param] = status
        if self.page_size:
            params["page_size"] = str(self.page_size)
        url = urljoin(self.base_url, settings.TICKETS_PATH)
        return f"{url}?{urlencode(params)}" if params else url

    def checked_next(self, url: str, seen: set[str]) -> str:
        """The URL to request for a `next` link, or a refusal naming what differs (see `urls.checked_next`)."""
        return checked_next(url, self.base_url, seen, self._http_links_said)

    def fetch(self, session: Transport, url: str, stats: ListingStats, read: Callable[[Answer], T],
              halt: threading.Event | None = None) -> T:
        """What `read` makes of the 200 answer for `url`, with retries: also when `read` raises `Retryable` (a body
        that is not a page, say); raises `UsercomHTTPError` (with the status code) when the API will not give it."""
        halt = halt or threading.Event()

        def attempt() -> T:
            if halt.is_set():
                raise Halted()
            return read(self._send(session, url, halt))

        def count_retry(state: RetryCallState) -> None:
            stats.retries += 1
            error = state.outcome.exception()
            response = getattr(error, "response", None)
            if response is not None and response.headers.get("Retry-After") is not None:
                stats.retry_after_seen = f"{response.headers['Retry-After']} (on a {response.status_code})"
            if isinstance(error, Throttled):
                stats.throttled += 1
                stats.throttled_wait += state.next_action.sleep if state.next_action else 0.0
            # the listing's throttle count is in the run's summary; each retry only at -v
            log.debug("retrying GET %s (attempt %d): %s", redact_url(url), state.attempt_number, self._scrub(str(error)))

        retrying = Retrying(
            retry=retry_if_exception(worth_retrying),
            wait=self.retry.wait_seconds,
            # never sleep past the budget: a wait that would end beyond it stops now, with the reason
            stop=stop_after_attempt(self.retry.max_attempts) | stop_before_delay(self.retry.max_total_wait),
            before_sleep=count_retry,
            sleep=halt.wait,  # a back-off ends early, and no request follows, when the listing is halted
            reraise=True,
        )
        started = time.monotonic()
        try:
            return retrying(attempt)
        except Retryable as error:
            status = error.response.status_code if error.response is not None else None
            if status == 401:
                raise UsercomHTTPError(
                    f"User.com API answered 401 for GET {redact_url(url)} although the key was accepted earlier in this "
                    f"run, {self._spent(retrying, started)}. Either the key was revoked or replaced meanwhile (set the "
                    "valid one as SOURCES__USERCOM__API_KEY or `api_key` under [sources.usercom]), or the API answers "
                    "bursts of requests with 401 (set requests_per_second under [sources.usercom], e.g. 5); re-run then.",
                    status, redact_url(url),
                ) from None
            raise UsercomHTTPError(
                f"User.com API kept failing for GET {redact_url(url)}: {self._scrub(str(error))}"
                f"{self._retry_after_note(error.response)}, {self._spent(retrying, started)}. "
                "The server may be down or rate-limiting; re-run later.",
                status, redact_url(url),
            ) from None
        except requests.exceptions.SSLError as error:
            raise UsercomHTTPError(
                f"The TLS certificate of {self._origin[1]} was refused for GET {redact_url(url)} "
                f"({self._scrub(str(error))[-160:]}). Check base_url/subdomain; behind a proxy that re-signs TLS, "
                "set REQUESTS_CA_BUNDLE to its CA bundle.",
                None, redact_url(url),
            ) from None
        except NETWORK_ERRORS as error:
            raise UsercomHTTPError(
                f"No complete answer from the User.com API for GET {redact_url(url)}, {self._spent(retrying, started)} "
                f"(last: {type(error).__name__}: {self._scrub(str(error))[:160]}). Check the network and base_url/subdomain; "
                "re-run later.",
                None, redact_url(url),
            ) from None

    def _spent(self, retrying: Retrying, started: float) -> str:
        attempts = retrying.statistics.get("attempt_number", 1)
        return (f"after {attempts} attempt(s) in {time.monotonic() - started:.1f} s (limits: max_attempts "
                f"{self.retry.max_attempts}, max_total_wait_seconds {self.retry.max_total_wait:g})")

    def _pause(self, response: Answer) -> float | None:
        """How long every listing holds off after a throttle: Retry-After, capped as retries cap it; none when it is
        beyond the retry budget (that request fails at once, and so does the run)."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None or retry_after > self.retry.max_total_wait:
            return None
        return min(retry_after, self.retry.retry_after_cap)

    def _retry_after_note(self, response: Answer | None) -> str:
        value = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        if value is None:
            return ""
        capped = f", capped at {self.retry.retry_after_cap:g} s" if value > self.retry.retry_after_cap else ""
        return f" (the server asked to wait {value:.0f} s with Retry-After{capped})"

    def _scrub(self, text: str) -> str:
        """`text` (a server's words, an exception) without the API key, should anything echo it."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def _send(self, session: Transport, url: str, halt: threading.Event) -> Answer:
        sent_at = self.pacer.wait_for_slot(halt)
        if halt.is_set() or requests_stopped():
            raise Halted()
        # requests' timeout is per socket read; the deadline bounds the whole request (a slow drip included)
        with Deadline(self.timeout[1]) as deadline:
            try:
                response = session.get(url)
            except requests.RequestException:
                if deadline.expired:
                    raise requests.Timeout(f"no complete answer within {self.timeout[1]:g} s") from None
                raise
        # once the key has worked, a 401 is taken for the burst limit clients report (and retried within bounds)
        throttled = response.status_code == 429 or (response.status_code == 401 and self.key_accepted.is_set())
        if throttled:
            self.pacer.throttled(sent_at, self._pause(response))
            raise Throttled(f"HTTP {response.status_code}", response)
        self.pacer.answered(sent_at)
        if response.status_code in settings.RETRY_STATUSES:
            raise Retryable(f"HTTP {response.status_code}", response)
        if 300 <= response.status_code < 400:
            raise UsercomHTTPError(
                f"User.com API answered {response.status_code} for GET {redact_url(url)}, a redirect to "
                f"{redact_url(response.headers.get('Location', '?'))}; redirects are not followed with the API key. "
                "Set base_url to the final address.",
                response.status_code, redact_url(url),
            )
        if response.status_code != 200:
            raise http_error(response.status_code, redact_url(url), self._scrub(server_message(response)))
        self.key_accepted.set()
        return response
