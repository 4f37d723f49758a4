"""The dlt source `usercom`: one resource per ticket status, all writing the same tables."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.configuration.inject import with_config
from dlt.common.typing import TSecretStrValue
from dlt.extract.hints import make_hints

from pipelines.usercom import settings as s
from pipelines.usercom.arrow import CHILD_PREFIX, PageFlattener, TableBatcher
from pipelines.usercom.client import ListingStats, RetryPolicy, TicketsClient
from pipelines.usercom.cursor import UpdatedSince, VersionLog
from pipelines.usercom.errors import UsercomConfigError
from pipelines.usercom.memory import return_freed_memory
from pipelines.usercom.pacing import Pacer
from pipelines.usercom.progress import ListingProgress, LogProgress
from pipelines.usercom.status_filter import Evidence, StatusFilterCheck
from pipelines.usercom.tracker import RunTracker
from pipelines.usercom.typing import TypeRegistry

log = logging.getLogger("usercom.source")

TABLE_HINTS = {
    s.TICKETS_TABLE: make_hints(
        table_name=s.TICKETS_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key="id", columns={"updated_at": {"dedup_sort": "desc"}},
    ),
    s.HISTORY_TABLE: make_hints(
        table_name=s.HISTORY_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["id", "updated_at"],
    ),
    s.REJECTS_TABLE: make_hints(
        table_name=s.REJECTS_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key="reject_key",
    ),
}


def child_table_hints(table: str):
    """Merge hints of a child table: a ticket's new rows replace all its old ones; tombstones delete."""
    return make_hints(
        table_name=table, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=[s.CHILD_KEY, s.CHILD_POSITION], merge_key=s.CHILD_KEY,
        columns={s.CHILD_VERSION: {"dedup_sort": "desc"}, s.TOMBSTONE: {"hard_delete": True, "data_type": "bool"}},
    )


@dataclass
class ListingReport:
    """What one status listing did in a run."""

    status: str
    pages: int = 0
    received: int = 0
    api_count: int | None = None
    api_count_last: int | None = None  # `count` on the last page: differs from api_count when it changed while paging
    kept: int = 0
    skipped_unchanged: int = 0
    rejected: int = 0
    retries: int = 0
    pages_row_by_row: int = 0  # pages the columnar path handed to the row flattener (odd values, unknown lists)
    finished: bool = False
    ended_on_404: str | None = None  # the last page's `next` link answered 404 with every ticket received
    unfiltered: bool = False  # the API ignored the status filter: this listing read every ticket
    stopped: bool = False  # the API ignored the status filter: another listing read every ticket

    @property
    def count_mismatch(self) -> int | None:
        """Tickets received minus the API's `count`, once the listing finished; None when unknown."""
        if not self.finished or self.api_count is None:
            return None
        return self.received - self.api_count


@dataclass
class RunReport:
    """Per-status figures of one run, filled in while the source runs."""

    listings: dict[str, ListingReport] = field(default_factory=dict)
    repeated: int = 0  # tickets read in two status lists (they moved while we paged)
    filter_ignored: Evidence | None = None  # the first page that showed the API ignoring the status filter
    throttles: int = 0  # answers that were the API throttling (429, or 401 once the key was accepted)
    paced_at: float | None = None  # requests/s the run was held to at its end; None: never paced
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def listing(self, status: str) -> ListingReport:
        """The report of one status listing, created on first use."""
        with self.lock:
            return self.listings.setdefault(status, ListingReport(status))


def resolve_base_url(subdomain: str | None, base_url: str | None) -> str:
    """The API root: `base_url` when set, else the subdomain's; fails with the fix when neither is set."""
    if base_url:
        return base_url if base_url.endswith("/") else base_url + "/"
    if not subdomain:
        raise UsercomConfigError(
            "Missing the User.com subdomain: set SOURCES__USERCOM__SUBDOMAIN (e.g. `acme` for acme.user.com) "
            "or `subdomain` under [sources.usercom] in .dlt/config.toml."
        )
    return s.BASE_URL_TEMPLATE.format(subdomain=subdomain.strip())


def check_transport(base_url: str, allow_insecure_http: bool) -> None:
    """Refuses a base URL that would send the API key in clear: only https://, or http:// on a loopback host
    (the sandbox), unless `allow_insecure_http` says otherwise."""
    parts = urlsplit(base_url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme == "https" and host:
        return
    if scheme == "http" and host and (_is_loopback(host) or allow_insecure_http):
        return
    if scheme == "http" and host:
        raise UsercomConfigError(
            f"Refused the plain http:// base URL on {host}: the API key would travel unencrypted. Use https://, "
            "or pass --allow-insecure-http (allow_insecure_http = true under [sources.usercom]) if you really mean it."
        )
    raise UsercomConfigError(
        f"The base URL must be an https:// URL with a host, like {s.BASE_URL_TEMPLATE.format(subdomain='acme')}.")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_client(
    api_key: TSecretStrValue = dlt.secrets.value,
    subdomain: str | None = dlt.config.value,
    base_url: str | None = None,
    *,
    status_param: str = s.STATUS_PARAM,
    page_size: int | None = None,
    max_attempts: int = s.MAX_ATTEMPTS,
    max_total_wait_seconds: float = s.MAX_TOTAL_WAIT_SECONDS,
    backoff_base_seconds: float = s.BACKOFF_BASE_SECONDS,
    request_timeout_seconds: float = s.REQUEST_TIMEOUT[1],
    retry_after_cap_seconds: float = s.RETRY_AFTER_CAP_SECONDS,
    allow_insecure_http: bool = False,
    columnar: bool = True,
    requests_per_second: float | None = None,
) -> TicketsClient:
    """The API client a run (or `usercom-tickets check`) uses, from the `sources.usercom` settings (see `usercom`);
    refuses a missing key, a missing subdomain, a base URL that would send the key in clear, and a bad rate."""
    if not api_key:
        raise UsercomConfigError(
            "Missing the User.com API key: set SOURCES__USERCOM__API_KEY or `api_key` under [sources.usercom] "
            "in .dlt/secrets.toml."
        )
    if requests_per_second is not None and not requests_per_second > 0:
        raise UsercomConfigError(f"requests_per_second = {requests_per_second!r} under [sources.usercom]: give a number "
                                 "above 0 (e.g. 5), or leave it unset to follow the API's own throttling.")
    root = resolve_base_url(subdomain, base_url)
    check_transport(root, allow_insecure_http)
    return TicketsClient(
        root, api_key, status_param=status_param, page_size=page_size,
        timeout=(min(s.REQUEST_TIMEOUT[0], request_timeout_seconds), request_timeout_seconds),
        retry=RetryPolicy(max_attempts=max_attempts, max_total_wait=max_total_wait_seconds, backoff_base=backoff_base_seconds,
                          retry_after_cap=retry_after_cap_seconds),
        columnar=columnar, pacer=Pacer(requests_per_second),
    )


def configured_client(**overrides) -> tuple[TicketsClient, list[str]]:
    """The client and statuses the `sources.usercom` settings give, read by dlt as a run reads them (for
    `usercom-tickets check`); `overrides` win over them. Raises `UsercomConfigError` naming a wrong setting."""
    client = with_config(make_client, sections=("sources", "usercom"))(**overrides)
    statuses = dlt.config.get("sources.usercom.statuses", list) or s.STATUSES
    return client, list(dict.fromkeys(statuses))


def missing_config_error(error: ConfigFieldMissingException) -> UsercomConfigError:
    """The one-line error for settings dlt could not find, saying where to set them."""
    return UsercomConfigError(
        f"Missing configuration {', '.join(error.fields)} for sources.usercom: set SOURCES__USERCOM__API_KEY and "
        "SOURCES__USERCOM__SUBDOMAIN (or api_key in .dlt/secrets.toml and subdomain in .dlt/config.toml)."
    )


@dlt.source(name="usercom")
def usercom(
    api_key: TSecretStrValue = dlt.secrets.value,
    subdomain: str | None = dlt.config.value,
    base_url: str | None = None,
    statuses: Sequence[str] = s.STATUSES,
    status_param: str = s.STATUS_PARAM,
    page_size: int | None = None,
    max_attempts: int = s.MAX_ATTEMPTS,
    max_total_wait_seconds: float = s.MAX_TOTAL_WAIT_SECONDS,
    backoff_base_seconds: float = s.BACKOFF_BASE_SECONDS,
    request_timeout_seconds: float = s.REQUEST_TIMEOUT[1],
    retry_after_cap_seconds: float = s.RETRY_AFTER_CAP_SECONDS,
    allow_insecure_http: bool = False,
    columnar: bool = True,
    requests_per_second: float | None = None,
    full_refresh: bool = False,
    report: RunReport | None = None,
    progress: ListingProgress | None = None,
) -> list:
    """User.com tickets of the given statuses, flattened to Arrow tables and merged on ticket id.

    Args:
        api_key: the account's 64-character REST API key (secret).
        subdomain: the account's app subdomain, `acme` for https://acme.user.com.
        base_url: overrides the subdomain's URL (the sandbox and tests use it).
        statuses: which status listings to read; other statuses' tickets are never touched.
        status_param: the query parameter that filters by status.
        page_size: asks the API for this many tickets a page (the API's default when None).
        max_attempts, max_total_wait_seconds, backoff_base_seconds: bounds of retrying 429/5xx/network errors.
        request_timeout_seconds: one request, connection to last byte, must end within this, or it is retried.
        retry_after_cap_seconds: a longer Retry-After is cut to this (and a warning says so).
        allow_insecure_http: accept a plain http:// base URL on a non-loopback host (the key travels in clear).
        columnar: parse pages with Arrow's JSON reader and flatten them column by column (the row-by-row
            flattener still takes every page with values it refuses); false: row by row only, ~2.5x slower.
        requests_per_second: the most requests a second, all listings together; None: as fast as the API
            allows, learnt from its throttling (pacing.py).
        full_refresh: ignore the incremental cursors and re-read every ticket.
        report: filled in with per-status figures while the source runs.
        progress: told each listing's figures as it goes (default: log lines).
    """
    client = make_client(
        api_key, subdomain, base_url, status_param=status_param, page_size=page_size, max_attempts=max_attempts,
        max_total_wait_seconds=max_total_wait_seconds, backoff_base_seconds=backoff_base_seconds,
        request_timeout_seconds=request_timeout_seconds, retry_after_cap_seconds=retry_after_cap_seconds,
        allow_insecure_http=allow_insecure_http, columnar=columnar, requests_per_second=requests_per_second,
    )
    unknown = [x for x in statuses if x not in s.STATUSES]
    if unknown or not statuses:
        raise UsercomConfigError(f"Unknown statuses {unknown or '(none given)'}: choose from {', '.join(s.STATUSES)}.")
    statuses = list(dict.fromkeys(statuses))
    run = _RunContext(
        RunTracker(listings=len(statuses)),
        # every first page is in before any listing flattens; past the wait, a listing decides on what it has
        StatusFilterCheck(statuses, wait_seconds=min(max_total_wait_seconds + request_timeout_seconds,
                                                     s.FILTER_CHECK_WAIT_SECONDS)),
        progress or LogProgress(),
    )
    report = report if report is not None else RunReport()
    return [_status_resource(status, client, run, full_refresh, report) for status in statuses]


class _RunContext:
    """What the status resources of one run share; built on first use, inside the pipeline's extract."""

    def __init__(self, tracker: RunTracker, filter_check: StatusFilterCheck, progress: ListingProgress) -> None:
        self.tracker = tracker
        self.filter_check = filter_check
        self.progress = progress
        self._flattener: PageFlattener | None = None
        self._lock = threading.Lock()

    def flattener(self) -> PageFlattener:
        """The run's flattener, its column types seeded from the pipeline's stored schema."""
        with self._lock:
            if self._flattener is None:
                schema = dlt.current.source_schema()
                self._flattener = PageFlattener(
                    TypeRegistry.from_dlt_schema(schema.tables), self.tracker,
                    # tombstones for emptied lists matter only when earlier rows may exist
                    tombstone_empty_lists=s.TICKETS_TABLE in schema.tables,
                    observed_at=datetime.now(UTC),
                    naming=schema.naming,  # columns are named as dlt will store them
                )
            return self._flattener


def _with_hints(table: str, arrow_table):
    return dlt.mark.with_hints(arrow_table, TABLE_HINTS.get(table) or child_table_hints(table), create_table_variant=True)


def _resource_name(status: str) -> str:
    return f"tickets_{status}"


def _status_resource(status: str, client: TicketsClient, run: _RunContext, full_refresh: bool, report: RunReport):
    def tickets_of_status() -> Iterator:
        states = [dlt.current.resource_state()]  # the listings whose cursor this one reads and moves
        cursor = UpdatedSince.from_state(states[0], full_refresh)
        versions = VersionLog()
        flattener = run.flattener()
        tracker = run.tracker
        listing = report.listing(status)
        label = status
        stats = ListingStats()
        batcher = TableBatcher()
        returned_at = 0  # stats.pages when freed memory last went back to the OS
        flattened_pages = flattened_tickets = 0  # stats run ahead of them: pages are fetched one batch ahead
        for page in client.iter_pages(status, stats, run.filter_check):
            if stats.unfiltered and label == status:  # the first page of the run's one listing of every ticket
                label, listing.unfiltered = "all", True
                report.filter_ignored = run.filter_check.evidence
                states = [dlt.current.resource_state(_resource_name(x)) for x in run.filter_check.statuses]
                cursor = UpdatedSince.oldest(UpdatedSince.from_state(x, full_refresh) for x in states)
            if stats.unfiltered and set(run.filter_check.statuses) != set(s.STATUSES):
                page.keep_statuses(frozenset(run.filter_check.statuses))
            tracker.saw_server_time(page.server_time)
            flat = flattener.flatten_page(page, listing=label, cursor=cursor, versions=versions)
            listing.pages, listing.received, listing.api_count = stats.pages, stats.received, stats.first_count
            listing.api_count_last, listing.retries = stats.last_count, stats.retries
            listing.kept += flat.kept
            listing.skipped_unchanged += flat.skipped_unchanged
            listing.rejected += flat.rejected
            listing.pages_row_by_row += 0 if flat.columnar else page.pages
            flattened_pages, flattened_tickets = flattened_pages + page.pages, flattened_tickets + page.size
            run.progress.update(label, flattened_pages, flattened_tickets, stats.first_count)
            for table, arrow_table in batcher.add(flat.tables):
                yield _with_hints(table, arrow_table)
            if stats.pages - returned_at >= s.RETURN_MEMORY_EVERY_PAGES:
                versions.forget_before(tracker.cursor(newest_seen=versions.newest()))
                return_freed_memory()
                returned_at = stats.pages
        for table, arrow_table in batcher.flush():
            yield _with_hints(table, arrow_table)
        run.progress.finish(label)
        listing.finished, listing.ended_on_404, listing.stopped = True, stats.ended_on_404, stats.stopped
        listing.pages, listing.api_count, listing.api_count_last = stats.pages, stats.first_count, stats.last_count
        report.throttles, report.paced_at = client.pacer.throttles, client.pacer.rate
        if listing.count_mismatch:
            log.warning("%s: received %d tickets but the API's count said %s", label, stats.received, stats.first_count)
        if tracker.finish_listing():
            report.repeated = tracker.repeated_tickets()
            for table, arrow_table in flattener.tombstones(tracker.stale_positions()).items():
                yield _with_hints(table, arrow_table)
        if not stats.stopped:  # a stopped listing read nothing: the run's listing of every ticket moves its cursor
            # committed with this load only: a failed run keeps the previous cursor
            new_cursor = tracker.cursor(newest_seen=versions.newest())
            for state in states:
                versions.save(state, new_cursor)
        return_freed_memory()  # what the listing, its tombstones and version log took, before DuckDB loads

    return dlt.resource(
        tickets_of_status, name=_resource_name(status), table_name=s.TICKETS_TABLE, parallelized=True,
    )


__all__ = ["usercom", "RunReport", "ListingReport", "CHILD_PREFIX"]
