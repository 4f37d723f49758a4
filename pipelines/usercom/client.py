"""HTTP client for the tickets list: auth headers, retries, and cursor pages followed through `next`.

dlt's RESTClient is not used: its JSONLinkPaginator parses every page a second time to find `next`
(at 100k tickets that second `json.loads` alone costs about as much as all of our flattening), and
dlt's retrying `Client` has neither jitter nor a bound on the total wait. This module is the small
loop both would replace, on urllib3 (transport.py) and tenacity (a dlt dependency).
"""

from __future__ import annotations

import json
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from pipelines.usercom import settings
from pipelines.usercom.deadline import Deadline
from pipelines.usercom.errors import (
    UsercomHTTPError,
    UsercomPaginationError,
    UsercomResponseError,
    http_error,
)
from pipelines.usercom.json_pages import NotColumnar, PageReader
from pipelines.usercom.pacing import Pacer
from pipelines.usercom.status_filter import StatusFilterCheck
from pipelines.usercom.transport import Answer, Transport

log = logging.getLogger("usercom.client")

# how long a failing listing waits for the others to stop before its error is raised (a request in flight ends first)
STOP_OTHERS_SECONDS = 2.0
_SECRET_QUERY_KEYS = {"token", "api_key", "apikey", "key", "access_token"}
# network failures worth another try: refused/reset connections, timeouts, a body cut short or undecodable
_NETWORK_ERRORS = (
    requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _worth_retrying(error: BaseException) -> bool:
    """429/5xx, bodies cut short, network failures; not a refused TLS certificate, which no retry changes."""
    return isinstance(error, (_Retryable, *_NETWORK_ERRORS)) and not isinstance(error, requests.exceptions.SSLError)


def redact_url(url: str) -> str:
    """Returns `url` with any credential-looking query value replaced, for messages and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Page:
    """Tickets of one or more consecutive pages of a listing: as Arrow (`tickets`, parsed together by the JSON
    reader) or as parsed JSON (`results`, one page); `rows()` gives parsed JSON either way."""

    url: str  # of the first page
    number: int  # of the first page
    results: list[dict] | None
    count: int | None
    server_time: datetime | None
    lenient: bool = False  # parsed by the standard library: may hold lone surrogates or numbers beyond 64 bits
    tickets: pa.StructArray | None = None
    bodies: list[bytes] = field(default_factory=list, repr=False)  # kept until `results` is parsed
    pages: int = 1
    only: frozenset[str] | None = None  # keep only tickets of these statuses (a listing of every ticket, subset run)

    @property
    def size(self) -> int:
        """How many tickets the page(s) hold."""
        return len(self.results) if self.results is not None else len(self.tickets)

    def rows(self) -> list[dict]:
        """The tickets as parsed JSON (parsed now when the JSON reader took the pages)."""
        if self.results is None:
            self.results = []
            for body in self.bodies:
                doc, lenient = parse_page_body(body)
                self.results.extend(doc["results"])
                self.lenient |= lenient
            self.bodies = []
            if self.only is not None:
                self.results = _of_statuses(self.results, self.only)
        return self.results

    def keep_statuses(self, statuses: frozenset[str]) -> None:
        """Keeps only the tickets whose `status` is one of `statuses` (and any that is not an object, for the
        flattener to reject)."""
        self.only = statuses
        if self.results is not None:
            self.results = _of_statuses(self.results, statuses)
        if self.tickets is not None:
            if self.tickets.type.get_field_index("status") < 0:
                self.tickets = self.tickets.slice(0, 0)
            else:
                keep = pc.is_in(self.tickets.field("status"), value_set=pa.array(sorted(statuses), pa.string()))
                self.tickets = self.tickets.filter(keep)


def _of_statuses(tickets: list, statuses: frozenset[str]) -> list:
    return [t for t in tickets if not isinstance(t, dict) or t.get("status") in statuses]


@dataclass
class _Body:
    """A decoded page body: `next`, `count`, and the tickets as Arrow or as parsed JSON."""

    next_url: str | None
    count: int | None
    results: list[dict] | None = None
    tickets: pa.StructArray | None = None
    lenient: bool = False

    @property
    def size(self) -> int:
        return len(self.results) if self.results is not None else len(self.tickets)

    def statuses(self) -> list:
        """The `status` of each ticket (None where there is none)."""
        if self.results is not None:
            return [t.get("status") if isinstance(t, dict) else None for t in self.results]
        if self.tickets.type.get_field_index("status") < 0:
            return [None] * len(self.tickets)
        return self.tickets.field("status").to_pylist()


@dataclass
class _Fetched:
    """One page as fetched: `next` and `count` known; its tickets parsed (`body`) or left for a batch."""

    url: str
    number: int
    response: Answer
    next_url: str | None
    count: int | None
    empty: bool
    body: _Body | None = None

    @property
    def deferred(self) -> bool:
        return self.body is None


@dataclass
class _Head:
    """What a page says before its tickets: `count`, `next`, and whether `results` is empty."""

    count: int | None
    next_url: str | None
    empty: bool


_RESULTS_KEY = b'"results"'
_EMPTY_LIST = re.compile(rb"\s*:\s*\[\s*\]")


def page_head(content: bytes) -> _Head | None:
    """`count` and `next` from the JSON before the top-level `results` key (the API sends them first); None when
    the page does not read that way, and must be parsed whole.

    A quote cannot stand unescaped inside a JSON string, so the first `"results"` is a key; cut there, the
    text is a whole object only at the top level (deeper, its braces do not close), so a nested key named
    `results` fails the parse instead of being taken for the page's.
    """
    at = content.find(_RESULTS_KEY)
    if at < 0:
        return None
    try:
        head = orjson.loads(content[:at] + b'"results":null}')
    except orjson.JSONDecodeError:
        return None
    if not isinstance(head, dict) or "next" not in head or "count" not in head:
        return None
    if head["next"] is not None and not isinstance(head["next"], str):
        return None
    return _Head(head["count"], head["next"], _EMPTY_LIST.match(content, at + len(_RESULTS_KEY)) is not None)


@dataclass
class ListingStats:
    """What one listing (one status) received, for reconciliation against `count`."""

    pages: int = 0
    received: int = 0
    first_count: int | None = None
    last_count: int | None = None
    retries: int = 0
    empty_pages_in_a_row: int = 0
    server_time: datetime | None = None
    ended_on_404: str | None = None  # the last page's `next` link, which answered 404 with every ticket received
    unfiltered: bool = False  # the status filter is ignored: this listing lists every ticket
    stopped: bool = False  # the status filter is ignored and another listing lists every ticket
    retry_after_seen: str | None = None  # the last Retry-After of an answer that was retried


class _Retryable(Exception):
    """A response worth another try: 429, 5xx, a 401 once the key was accepted, or a 200 whose body was cut short."""

    def __init__(self, message: str, response: Answer | None = None) -> None:
        super().__init__(message)
        self.response = response


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
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _server_time(response: Answer) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None


class TicketsClient:
    """Lists tickets page by page, following the API's `next` links on the base URL's host only."""

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
        self._origin = _origin(self.base_url)
        self._api_key = api_key
        self.reader = PageReader() if columnar else None  # None: every page parsed to JSON, flattened row by row
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

    def iter_pages(self, status: str | None, stats: ListingStats | None = None,
                   filter_check: StatusFilterCheck | None = None) -> Iterator[Page]:
        """Yields the tickets of the listing for `status`, refusing foreign hosts and loops: a `Page` per batch of
        ~2 MB of API pages the JSON reader took (`Page.pages` of them), or per page it refused.

        With `filter_check`, the first page's statuses tell whether the API honours the status filter; when it
        does not, one listing of the run goes on through every ticket (`stats.unfiltered`) and the others end
        there (`stats.stopped`), having yielded nothing. A `next` link that answers 404 once every ticket of
        `count` was received ends the listing (`stats.ended_on_404`).

        Pages are fetched on a thread of their own while the caller works on the previous `Page` (one ahead):
        with 50 ms a request, paging and flattening one after the other made a listing 1.7x as long as its
        requests alone. Tickets, their order and where an error surfaces are as without it; `stats` may count
        pages fetched ahead before the caller has them.
        """
        halt = threading.Event()
        stats = stats if stats is not None else ListingStats()
        return _read_ahead(self._pages(status, stats, halt, filter_check if status else None), halt, self.read_aheads)

    def _pages(self, status: str | None, stats: ListingStats, halt: threading.Event,
               filter_check: StatusFilterCheck | None) -> Iterator[Page]:
        seen: set[str] = set()
        url: str | None = self.first_url(status)
        deferred: list[_Fetched] = []  # read as far as `count` and `next`; their tickets are parsed together
        deferred_bytes = 0
        with self.open_session() as session:
            while url is not None and not halt.is_set():
                url = self.checked_next(url, seen)
                seen.add(url)
                first = stats.pages == 0
                try:
                    fetched = self._get_page(session, url, stats.pages + 1, stats, halt, whole=first and bool(filter_check))
                except BaseException as error:
                    if first and filter_check:
                        filter_check.withdraw(status)  # the other listings need not wait for this one's first page
                    if first or not (isinstance(error, UsercomHTTPError) and error.status_code == 404):
                        raise
                    yield from self._parse_deferred(session, deferred, stats, halt)
                    self._end_on_404(url, stats)
                    return
                if first and filter_check:
                    verdict = filter_check.first_page(status, fetched.body.statuses(), halt)
                    stats.unfiltered, stats.stopped = verdict == "unfiltered", verdict == "stop"
                    if stats.stopped:
                        return
                stats.pages += 1
                stats.empty_pages_in_a_row = 0 if not fetched.empty else stats.empty_pages_in_a_row + 1
                if fetched.next_url is not None and stats.empty_pages_in_a_row > settings.MAX_EMPTY_PAGES_IN_A_ROW:
                    raise UsercomPaginationError(
                        f"The API sent {stats.empty_pages_in_a_row} empty pages in a row that still link to a next page "
                        f"(last: {redact_url(url)}); stopped instead of paging forever. "
                        "Nothing of this run was loaded; re-run later."
                    )
                if stats.first_count is None:
                    stats.first_count = fetched.count
                    stats.server_time = _server_time(fetched.response)
                stats.last_count = fetched.count
                parsed = not fetched.deferred
                if not parsed:
                    deferred.append(fetched)
                    deferred_bytes += len(fetched.response.content)
                if deferred and (parsed or fetched.next_url is None or deferred_bytes >= settings.PARSE_BATCH_BYTES):
                    yield from self._parse_deferred(session, deferred, stats, halt)
                    deferred_bytes = 0
                if parsed:
                    yield self._page(fetched, stats)
                url = fetched.next_url

    def _page(self, fetched: _Fetched, stats: ListingStats) -> Page:
        body = fetched.body
        page = Page(url=redact_url(fetched.url), number=fetched.number, results=body.results, count=fetched.count,
                    server_time=_server_time(fetched.response), lenient=body.lenient, tickets=body.tickets,
                    bodies=[fetched.response.content] if body.tickets is not None else [])
        stats.received += page.size
        return page

    def _end_on_404(self, url: str, stats: ListingStats) -> None:
        """A `next` link answered 404: the listing's end when every ticket `count` announced was received (a known
        quirk of the API), else a failure naming the link. Counts moved by tickets changing status while we paged
        are allowed for: the least of the first and the last `count` is enough."""
        counts = [c for c in (stats.first_count, stats.last_count) if isinstance(c, int)]
        if counts and stats.received >= min(counts):
            stats.ended_on_404 = redact_url(url)
            log.info("the last page's `next` link %s answered 404 after all %d tickets of `count` were received: "
                     "taken as the listing's end", redact_url(url), stats.received)
            return
        announced = f"the {min(counts)} tickets its `count` announced" if counts else "an unknown number (no `count`)"
        raise UsercomPaginationError(
            f"The API's `next` link {redact_url(url)} answered 404 after {stats.received} of {announced}: the listing "
            "ended early. Nothing of this run was loaded; re-run later, and report it to User.com if it persists."
        )

    def _parse_deferred(self, session: Transport, deferred: list[_Fetched], stats: ListingStats,
                        halt: threading.Event) -> Iterator[Page]:
        """The deferred pages' tickets, parsed by the JSON reader in one call (it costs ~0.4 ms a call whatever
        the size); when it refuses them, page by page, and a page whose body is not JSON is fetched again.
        Empties `deferred`."""
        batch = list(deferred)
        deferred.clear()
        if not batch:
            return
        bodies = [f.response.content for f in batch]
        try:
            tickets = self.reader.read_many(bodies, [f.next_url for f in batch])
        except NotColumnar as why:
            log.debug("pages %d-%d are parsed one by one: %s", batch[0].number, batch[-1].number, why)
        else:
            times = [t for t in (_server_time(f.response) for f in batch) if t is not None]
            stats.received += len(tickets)
            yield Page(url=redact_url(batch[0].url), number=batch[0].number, results=None,
                       count=batch[0].count, server_time=min(times, default=None), tickets=tickets, bodies=bodies,
                       pages=len(batch))
            return
        for fetched in batch:
            try:
                fetched.body = self._decode(fetched.response, fetched.url)
            except _Retryable:  # cut short with an honest length, say: read it again, with the usual retries
                stats.retries += 1
                again = self._get_page(session, fetched.url, fetched.number, stats, halt, whole=True)
                if again.next_url != fetched.next_url:
                    raise UsercomResponseError(
                        f"The page at {redact_url(fetched.url)} linked to another `next` page when read again; "
                        "stopped instead of guessing which one to follow. Nothing of this run was loaded; re-run later."
                    ) from None
                fetched.body, fetched.response = again.body, again.response
            yield self._page(fetched, stats)

    def checked_next(self, url: str, seen: set[str]) -> str:
        """The URL to request for a `next` link: as given on the base URL's origin; over https when the link says
        http:// on the https base's host and port (a TLS-terminating proxy's links; the key never goes in clear).
        Refuses any other origin, naming what differs, and a page already read."""
        scheme, host, port = _origin(url)
        base_scheme, base_host, base_port = self._origin
        if (scheme, host) == ("http", base_host) and base_scheme == "https" and (
                port == base_port or (port == 80 and base_port == 443)):
            parts = urlsplit(url)
            url = urlunsplit(parts._replace(scheme="https", netloc=urlsplit(self.base_url).netloc))
            if not self._http_links_said.is_set():
                self._http_links_said.set()
                log.warning("the API's `next` links say http:// on %s; following them over https (the API key is "
                            "never sent in clear)", host)
        elif (scheme, host, port) != self._origin:
            differs = [f"{what} {theirs} instead of {ours}" for what, theirs, ours in
                       (("host", host, base_host), ("scheme", scheme, base_scheme), ("port", port, base_port))
                       if theirs != ours]
            raise UsercomPaginationError(
                f"Refused to follow `next` to {redact_url(url)}: its {', '.join(differs)}; the API key is only ever "
                "sent to the configured host over the configured scheme. Check base_url/subdomain, or report the API's links."
            )
        if url in seen:
            raise UsercomPaginationError(
                f"The API's `next` link repeats a page already read ({redact_url(url)}); stopped instead of looping. "
                "Nothing of this run was loaded; re-run later."
            )
        return url

    def get_page(self, session: Transport, url: str, stats: ListingStats) -> Answer:
        """One page read whole as a run reads it (pacing, retries, the body checked to be a page); raises
        `UsercomHTTPError` (with the status code) or `UsercomResponseError` when the API will not give it."""
        return self._get_page(session, url, stats.pages + 1, stats, whole=True).response

    def _get_page(self, session: Transport, url: str, number: int, stats: ListingStats,
                  halt: threading.Event | None = None, whole: bool = False) -> _Fetched:
        """One page, with retries; its tickets are left for a batch when `count` and `next` can be read alone,
        else (or with `whole`) parsed at once, which is also where a body that is not a page is retried."""
        halt = halt or threading.Event()

        def attempt() -> _Fetched:
            if halt.is_set():
                raise _Halted()
            response = self._send(session, url, halt)
            head = None if whole or self.reader is None else page_head(response.content)
            if head is not None:
                return _Fetched(url, number, response, head.next_url, head.count, head.empty)
            body = self._decode(response, url)
            return _Fetched(url, number, response, body.next_url, body.count, body.size == 0, body)

        def count_retry(state: RetryCallState) -> None:
            stats.retries += 1
            response = getattr(state.outcome.exception(), "response", None)
            if response is not None and response.headers.get("Retry-After") is not None:
                stats.retry_after_seen = f"{response.headers['Retry-After']} (on a {response.status_code})"
            log.info("retrying GET %s (attempt %d): %s", redact_url(url), state.attempt_number,
                     self._scrub(str(state.outcome.exception())))

        retrying = Retrying(
            retry=retry_if_exception(_worth_retrying),
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
        except _Retryable as error:
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
        except _NETWORK_ERRORS as error:
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
        if halt.is_set():
            raise _Halted()
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
            raise _Retryable(f"HTTP {response.status_code}", response)
        self.pacer.answered(sent_at)
        if response.status_code in settings.RETRY_STATUSES:
            raise _Retryable(f"HTTP {response.status_code}", response)
        if 300 <= response.status_code < 400:
            raise UsercomHTTPError(
                f"User.com API answered {response.status_code} for GET {redact_url(url)}, a redirect to "
                f"{redact_url(response.headers.get('Location', '?'))}; redirects are not followed with the API key. "
                "Set base_url to the final address.",
                response.status_code, redact_url(url),
            )
        if response.status_code != 200:
            raise http_error(response.status_code, redact_url(url), self._scrub(_server_message(response)))
        self.key_accepted.set()
        return response

    def _decode(self, response: Answer, url: str) -> _Body:
        """The body by the Arrow JSON reader when it takes the page (GIL released while it parses), else by
        `parse_page_body`: pages with values only the row flattener handles, and bodies that are not a page."""
        try:
            if self.reader is not None:
                page = self.reader.read(response.content)
                return _Body(page.next_url, page.count, tickets=page.tickets)
        except NotColumnar as why:
            log.debug("page %s is read row by row: %s", redact_url(url), why)
        doc, lenient = _decode_page(response, url)
        return _Body(doc.get("next"), doc.get("count"), results=doc["results"], lenient=lenient)


def parse_page_body(content: bytes) -> tuple[object, bool]:
    """The JSON of a body, and whether it needed the lenient parser.

    orjson first (fast); what it refuses but the standard library reads (a lone UTF-16 surrogate escape such
    as "\\ud800", which JavaScript clients do produce) is read leniently: one odd ticket must not block the
    whole listing; the flattener rejects such tickets with their raw JSON. Raises ValueError when neither reads it.
    """
    try:
        return orjson.loads(content), False
    except orjson.JSONDecodeError as error:
        first = error
    try:
        return json.loads(content), True
    except (ValueError, RecursionError):
        raise first from None


class _Halted(Exception):
    """The consumer of a listing went away: no further request."""


_DONE = object()


class ReadAheads:
    """The read-ahead threads of one client's listings. When one listing fails, the others stop requesting and end
    before its error is handed on: dlt closes the other listings' generators on the first error, and one still
    waiting for a page there fails with "generator already executing", which would hide the error's own words."""

    def __init__(self, wait_seconds: float = STOP_OTHERS_SECONDS) -> None:
        self._wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._running: dict[threading.Event, threading.Thread] = {}

    def start(self, halt: threading.Event, thread: threading.Thread) -> None:
        """Starts `thread`, the read-ahead of the listing that `halt` stops."""
        with self._lock:
            self._running[halt] = thread
        thread.start()

    def ended(self, halt: threading.Event) -> None:
        """The listing of `halt` ended."""
        with self._lock:
            self._running.pop(halt, None)

    def stop_others(self, halt: threading.Event) -> None:
        """Stops every listing but the one of `halt`, waiting a little for each to end (a request in flight ends first)."""
        with self._lock:
            others = [(h, t) for h, t in self._running.items() if h is not halt]
        for other, _ in others:
            other.set()
        deadline = time.monotonic() + self._wait_seconds
        for _, thread in others:
            thread.join(max(0.0, deadline - time.monotonic()))


def _read_ahead(pages: Iterator[Page], halt: threading.Event, listings: ReadAheads) -> Iterator[Page]:
    """Yields the items of `pages`, produced on a thread that keeps one item ready ahead of the consumer.

    An exception of `pages` is raised where its item would have been, once the other listings stopped. `halt`
    (set by another listing's failure) makes `pages` stop before its next request or back-off, and this
    listing end as if it were complete: the run fails with the other listing's error. Closing this generator
    (the run failed elsewhere, or was interrupted) sets `halt` and waits for the thread to end (at most the
    request in flight).
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    closed = threading.Event()

    def hand_over(item: tuple) -> bool:
        while not closed.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        error = None
        try:
            for page in pages:
                if not hand_over((page, None)):
                    return
        except _Halted:
            pass
        except BaseException as failure:  # noqa: BLE001 (handed to the consumer, raised there)
            error = failure
            listings.stop_others(halt)
        finally:
            pages.close()
            listings.ended(halt)
        hand_over((_DONE, error))

    thread = threading.Thread(target=produce, name="usercom-pages", daemon=True)
    listings.start(halt, thread)
    try:
        while True:
            page, error = ready.get()
            if error is not None:
                raise error
            if page is _DONE:
                return
            yield page
    finally:
        closed.set()
        halt.set()
        thread.join()  # the request in flight ends, then the thread


def _decode_page(response: Answer, url: str) -> tuple[dict, bool]:
    try:
        doc, lenient = parse_page_body(response.content)
    except (ValueError, requests.RequestException) as error:
        # a proxy's HTML error page or a body cut short: worth another try
        kind = response.headers.get("Content-Type", "no content type")
        raise _Retryable(f"the body of a 200 answer is not JSON ({kind}, {len(response.content)} bytes: {str(error)[:80]})",
                         response) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise UsercomResponseError(
            f"User.com API answered GET {redact_url(url)} with JSON that is not a ticket page "
            "(no `results` list); check base_url points at /api/public/."
        )
    next_url = doc.get("next")
    if next_url is not None and not isinstance(next_url, str):
        raise UsercomResponseError(f"`next` in the page at {redact_url(url)} is not a URL: {str(next_url)[:80]}")
    return doc, lenient


def _server_message(response: Answer) -> str:
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict) and "detail" in body:
            return str(body["detail"])
    except orjson.JSONDecodeError:
        pass
    return response.text[:300]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port
