"""A listing, page after page: `next` links followed on the configured origin, pages batched for the JSON reader,
empty pages and a 404 after the last page handled, and the status filter checked on the first page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from pipelines.usercom import settings
from pipelines.usercom.errors import NotColumnar, Retryable, UsercomHTTPError, UsercomPaginationError, UsercomResponseError
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.page import Page, fetched_page
from pipelines.usercom.http.read_ahead import read_ahead
from pipelines.usercom.http.status_filter import StatusFilterCheck
from pipelines.usercom.http.transport import Answer, Transport
from pipelines.usercom.http.urls import redact_url
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.pages.bodies import parse_page

log = logging.getLogger("usercom.client")


def iter_pages(client: TicketsClient, status: str | None, stats: ListingStats | None = None,
               filter_check: StatusFilterCheck | None = None, reader: PageReader | None = None,
               arrived: Callable[[], None] | None = None) -> Iterator[Page]:
    """Yields the tickets of the listing for `status`, refusing foreign hosts and loops: a `Page` per batch of
    ~2 MB of API pages the JSON `reader` took (`Page.pages` of them), or per page it refused (without a reader,
    every page is parsed to JSON).

    With `filter_check`, the first page's statuses tell whether the API honours the status filter; when it
    does not, one listing of the run goes on through every ticket (`stats.unfiltered`) and the others end
    there (`stats.stopped`), having yielded nothing. A `next` link that answers 404 once every ticket of
    `count` was received ends the listing (`stats.ended_on_404`).

    Pages are fetched on a thread of their own while the caller works on the previous `Page` (one ahead):
    with 50 ms a request, paging and flattening one after the other made a listing 1.7x as long as its
    requests alone. Tickets, their order and where an error surfaces are as without it; `stats` may count
    pages fetched ahead before the caller has them. `arrived` is called on that thread each time `stats.pages`
    or `stats.received` moved (live progress: a page counts when it arrives, not when the caller takes it).
    """
    halt = threading.Event()
    stats = stats if stats is not None else ListingStats()
    pages = _pages(client, reader, status, stats, halt, filter_check if status else None, arrived or _nobody)
    return read_ahead(pages, halt, client.read_aheads)


def _read(reader: PageReader | None, url: str, number: int, whole: bool) -> Callable[[Answer], Page]:
    """How an answer is read: as far as `count` and `next` when they can be read alone (the tickets are left
    for a batch), else (or with `whole`) parsed at once, which is also where a body that is not a page is retried."""
    deferrable = not whole and reader is not None

    def read(answer: Answer) -> Page:
        page = fetched_page(answer, url, number, head=deferrable)
        return page if page.head_read else parse_page(reader, page, answer)

    return read


def _nobody() -> None:
    pass


def _pages(client: TicketsClient, reader: PageReader | None, status: str | None, stats: ListingStats,
           halt: threading.Event, filter_check: StatusFilterCheck | None, arrived: Callable[[], None]) -> Iterator[Page]:
    seen: set[str] = set()
    url: str | None = client.first_url(status)
    deferred: list[Page] = []  # read as far as `count` and `next`; their tickets are parsed together
    deferred_bytes = 0
    deferred_since = 0.0  # when the batch's first page arrived
    with client.open_session() as session:
        while url is not None and not halt.is_set():
            url = client.checked_next(url, seen)
            seen.add(url)
            first = stats.pages == 0
            asked_at = time.monotonic()
            stats.started_at = asked_at if first else stats.started_at
            try:
                fetched = client.fetch(session, url, stats,
                                       _read(reader, url, stats.pages + 1, whole=first and bool(filter_check)), halt)
            except BaseException as error:
                if first and filter_check:
                    filter_check.withdraw(status)  # the other listings need not wait for this one's first page
                if first or not (isinstance(error, UsercomHTTPError) and error.status_code == 404):
                    raise
                yield from _parse_deferred(client, reader, session, deferred, stats, halt, arrived)
                _end_on_404(url, stats)
                return
            arrived_at = time.monotonic()
            if first and filter_check:
                verdict = filter_check.first_page(status, _statuses(fetched), halt)
                stats.unfiltered, stats.stopped = verdict == "unfiltered", verdict == "stop"
                if stats.stopped:
                    return
            stats.pages += 1
            parsed = fetched.parsed
            empty = fetched.size == 0 if parsed else fetched.empty
            stats.empty_pages_in_a_row = 0 if not empty else stats.empty_pages_in_a_row + 1
            if fetched.next_url is not None and stats.empty_pages_in_a_row > settings.MAX_EMPTY_PAGES_IN_A_ROW:
                raise UsercomPaginationError(
                    f"The API sent {stats.empty_pages_in_a_row} empty pages in a row that still link to a next page "
                    f"(last: {redact_url(url)}); stopped instead of paging forever. "
                    "Nothing of this run was loaded; re-run later."
                )
            if stats.api_count is None:
                stats.api_count = fetched.count
                stats.server_time = fetched.server_time
            stats.api_count_last = fetched.count
            if not parsed:
                deferred_since = deferred_since if deferred else arrived_at
                deferred.append(fetched)
                deferred_bytes += len(fetched.bodies[0])
            # the batch is parsed when full, at the end, or when it would be stale by the time the next page came
            stale = arrived_at - deferred_since + (arrived_at - asked_at) >= settings.PARSE_BATCH_SECONDS
            if deferred and (parsed or fetched.next_url is None or deferred_bytes >= settings.PARSE_BATCH_BYTES or stale):
                yield from _parse_deferred(client, reader, session, deferred, stats, halt, arrived)
                deferred_bytes = 0
            elif not parsed:
                arrived()  # one page more; its tickets count once parsed
            if parsed:
                stats.received += fetched.size
                arrived()
                yield fetched
            url = fetched.next_url


def _end_on_404(url: str, stats: ListingStats) -> None:
    """A `next` link answered 404: the listing's end when every ticket `count` announced was received (a known
    quirk of the API), else a failure naming the link. Counts moved by tickets changing status while we paged
    are allowed for: the least of the first and the last `count` is enough."""
    counts = [c for c in (stats.api_count, stats.api_count_last) if isinstance(c, int)]
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


def _statuses(page: Page) -> list:
    """The `status` of each ticket of a parsed page (None where there is none)."""
    if page.results is not None:
        return [t.get("status") if isinstance(t, dict) else None for t in page.results]
    if page.tickets.type.get_field_index("status") < 0:
        return [None] * len(page.tickets)
    return page.tickets.field("status").to_pylist()


def _parse_deferred(client: TicketsClient, reader: PageReader, session: Transport, deferred: list[Page],
                    stats: ListingStats, halt: threading.Event, arrived: Callable[[], None]) -> Iterator[Page]:
    """The deferred pages' tickets, parsed by the JSON reader in one call (it costs ~0.4 ms a call whatever
    the size); when it refuses them, page by page, and a page whose body is not JSON is fetched again.
    Empties `deferred`."""
    batch = list(deferred)
    deferred.clear()
    if not batch:
        return
    bodies = [f.bodies[0] for f in batch]
    try:
        tickets = reader.read_many(bodies, [f.next_url for f in batch])
    except NotColumnar as why:
        log.debug("pages %d-%d are parsed one by one: %s", batch[0].number, batch[-1].number, why)
    else:
        times = [f.server_time for f in batch if f.server_time is not None]
        stats.received += len(tickets)
        arrived()
        first = batch[0]
        yield Page(url=first.url, number=first.number, bodies=bodies, content_type=first.content_type,
                   server_time=min(times, default=None), next_url=batch[-1].next_url, count=first.count,
                   tickets=tickets)
        return
    for fetched in batch:
        try:
            page = parse_page(reader, fetched)
        except Retryable:  # cut short with an honest length, say: read it again, with the usual retries
            stats.retries += 1
            page = client.fetch(session, fetched.url, stats, _read(reader, fetched.url, fetched.number, whole=True), halt)
            if page.next_url != fetched.next_url:
                raise UsercomResponseError(
                    f"The page at {redact_url(fetched.url)} linked to another `next` page when read again; "
                    "stopped instead of guessing which one to follow. Nothing of this run was loaded; re-run later."
                ) from None
        stats.received += page.size
        arrived()
        yield page
