"""The dlt source `usercom`: settings injected by dlt, one client, one resource per ticket status (all writing the
same tables). The map of the extract layer is in this package's `__init__.py`."""

from __future__ import annotations

from collections.abc import Sequence

import dlt
from dlt.common.configuration.inject import with_config
from dlt.common.typing import TSecretStrValue

from pipelines.usercom import settings as s
from pipelines.usercom.errors import UsercomConfigError
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.pacing import Pacer
from pipelines.usercom.http.retries import RetryPolicy
from pipelines.usercom.http.status_filter import StatusFilterCheck
from pipelines.usercom.http.urls import check_transport, resolve_base_url
from pipelines.usercom.run.hints import declare_deletion_columns
from pipelines.usercom.run.listing import RunContext, status_resource
from pipelines.usercom.run.progress import ListingProgress, LogProgress
from pipelines.usercom.run.report import RunReport
from pipelines.usercom.state.tracker import RunTracker


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
    return client, configured_statuses()


def configured_statuses() -> list[str]:
    """The statuses the `sources.usercom.statuses` setting lists (each once), else every status."""
    return list(dict.fromkeys(dlt.config.get("sources.usercom.statuses", list) or s.STATUSES))


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
    run = RunContext(
        RunTracker(listings=len(statuses)),
        # every first page is in before any listing flattens; past the wait, a listing decides on what it has
        StatusFilterCheck(statuses, wait_seconds=min(max_total_wait_seconds + request_timeout_seconds,
                                                     s.FILTER_CHECK_WAIT_SECONDS)),
        progress or LogProgress(),
        PageReader() if client.columnar else None,
    )
    report = report if report is not None else RunReport()
    report.pacer = client.pacer
    declare_deletion_columns(dlt.current.source_schema())
    return [status_resource(status, client, run, full_refresh, report) for status in statuses]
