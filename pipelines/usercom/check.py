"""`usercom-tickets check`: what an account's API actually does, in about a dozen requests, before the first run.

It reads the first page of every ticket and of each status listing, follows one `next` link, and follows the
`next` of each listing that fits on one page (where the API is reported to link to a page that answers 404).
It writes nothing. Each finding says whether a run copes with it; the verdict says whether a run would work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipelines.usercom import settings
from pipelines.usercom.errors import NotCoercible, UsercomError, UsercomHTTPError
from pipelines.usercom.flatten.coercion import to_timestamp
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.page import Page
from pipelines.usercom.http.status_filter import IGNORED_SHARE
from pipelines.usercom.http.transport import Transport
from pipelines.usercom.http.urls import redact_url
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.pages.bodies import get_page

_RATE_HEADER = re.compile(r"^(x-)?(rate-?limit|ratelimit)|^retry-after$", re.IGNORECASE)
_TIMESTAMP_FORMS = (
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,6}Z$"), "Z with fractions"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"), "Z"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$"), "+00:00"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d:\d\d$"), "another offset"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$"), "no time zone (read as UTC)"),
)
UNREADABLE = "unreadable"


@dataclass
class CheckReport:
    """The findings of one check: (topic, text) lines, blocking problems with their fix, and the request count."""

    base_url: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        """Whether a run would work."""
        return not self.problems

    def add(self, topic: str, text: str) -> None:
        """A finding."""
        self.lines.append((topic, text))

    def fail(self, topic: str, text: str) -> None:
        """A finding that stops a run; `text` names the fix."""
        self.lines.append((topic, f"FAIL: {text}"))
        self.problems.append(text)

    def render(self) -> str:
        """The report as terminal lines, ending with the verdict."""
        out = [f"usercom-tickets check of {self.base_url}"]
        out += [f"{topic:<13}{text}" for topic, text in self.lines]
        made = f"{self.requests} request{'' if self.requests == 1 else 's'} made, nothing written"
        if self.ok:
            out.append(f"{'verdict':<13}OK: a run would work ({made})")
        else:
            out.append(f"{'verdict':<13}FAIL: a run would not work; the FAIL line(s) above say why and what to change ({made})")
        return "\n".join(out)


@dataclass
class _Listing:
    """The first page of one listing as the check read it, parsed to JSON."""

    status: str | None
    page: Page

    @property
    def tickets(self) -> list:
        """The page's tickets."""
        return self.page.results


def check_account(client: TicketsClient, statuses: Sequence[str]) -> CheckReport:
    """Reads what the account's API does (see the module docstring) and reports it; never raises for the API's
    answers, which become findings."""
    report = CheckReport(redact_url(client.base_url))
    stats = ListingStats()
    headers: dict[str, str] = {}
    with client.open_session() as session:
        try:
            everything = _first_page(client, session, None, stats, headers)
        except UsercomError as error:
            report.requests = client.pacer.requests
            _first_request_failed(report, error)
            return report
        report.add("key", "accepted")
        listings = []
        for status in statuses:
            try:
                listings.append(_first_page(client, session, status, stats, headers))
            except UsercomError as error:
                report.fail(status, f"{error}")
        _report_counts(report, everything, listings, client.status_param)
        _report_links(report, client, session, everything, listings, stats)
    report.requests = client.pacer.requests
    _report_rate_limits(report, headers, stats)
    tickets = everything.tickets + [t for x in listings for t in x.tickets]
    _report_fields(report, [t for t in tickets if isinstance(t, dict)])
    _report_timestamps(report, [t for t in tickets if isinstance(t, dict)])
    return report


def _first_page(client: TicketsClient, session: Transport, status: str | None, stats: ListingStats,
                headers: dict[str, str]) -> _Listing:
    url = client.first_url(status)
    return _Listing(status, _get(client, session, url, stats, headers))


def _get(client: TicketsClient, session: Transport, url: str, stats: ListingStats, headers: dict[str, str]) -> Page:
    page, answer = get_page(client, session, url, stats)
    stats.pages += 1
    headers.update({k.lower(): v for k, v in answer.headers.items() if _RATE_HEADER.search(k)})
    return page


def _first_request_failed(report: CheckReport, error: UsercomError) -> None:
    status = getattr(error, "status_code", None)
    if status == 401:
        report.fail("key", "rejected (401): set a valid key as SOURCES__USERCOM__API_KEY or `api_key` under "
                           "[sources.usercom] in .dlt/secrets.toml (Settings → Setup & Integrations → REST API keys)")
    elif status == 403:
        report.fail("key", "accepted but not allowed to list tickets (403): give the key's user access to tickets")
    elif status == 404:
        report.fail("base URL", f"{report.base_url}tickets/ answered 404: check SOURCES__USERCOM__SUBDOMAIN "
                                "(acme for acme.user.com) or SOURCES__USERCOM__BASE_URL")
    else:
        report.fail("API", str(error))


def _report_counts(report: CheckReport, everything: _Listing, listings: list[_Listing], status_param: str) -> None:
    page = len(everything.tickets)
    size = f"all on one page ({page})" if _fits_one_page(everything) else f"{page} a page"
    report.add("tickets", f"{everything.page.count} in all; {size}")
    ignored = []
    for listing in listings:
        others = sum(1 for t in listing.tickets if not isinstance(t, dict) or t.get("status") != listing.status)
        shown = len(listing.tickets)
        counts_all = listing.page.count == everything.page.count and any(
            isinstance(t, dict) and t.get("status") != listing.status for t in everything.tickets)
        if shown and others / shown > IGNORED_SHARE:
            ignored.append(listing.status)
            verdict = f"ignored: {others} of {shown} tickets on its first page have other statuses"
        elif counts_all:
            ignored.append(listing.status)
            verdict = f"ignored: its count is every ticket's, and {others} of {shown} on its first page have other statuses"
        elif others:
            verdict = f"holds ({others} of {shown} on the first page moved status meanwhile)"
        else:
            verdict = "holds"
        report.add(listing.status, f"count {listing.page.count}; filter `{status_param}={listing.status}` {verdict}")
    if ignored:
        report.add("filter", f"the API ignores `{status_param}`: a run lists every ticket once, without it, instead of "
                             "once per status (handled)")


def _report_links(report: CheckReport, client: TicketsClient, session: Transport, everything: _Listing,
                  listings: list[_Listing], stats: ListingStats) -> None:
    links = [x for x in (everything, *listings) if x.page.next_url]
    if not links:
        report.add("next links", "none: every listing fits on its first page")
    forms = set()
    for listing in links:
        parts, base = urlsplit(listing.page.next_url), urlsplit(client.base_url)
        try:
            followed = client.checked_next(listing.page.next_url, {listing.page.url})
        except UsercomError as error:
            report.fail("next links", f"{error}")
            return
        forms.add(f"{parts.scheme}:// on {parts.hostname}" + (" (followed over https; the key never goes over http)"
                                                              if parts.scheme != base.scheme else ""))
        listing.page.next_url = followed
    for form in sorted(forms):
        report.add("next links", form)
    if everything.page.next_url and not _fits_one_page(everything):
        _follow_once(report, client, session, everything, stats, "page 2 of every ticket")
    # a listing that fits on its first page but links onwards: where the API is reported to answer 404
    last = next((x for x in (everything, *listings) if x.page.next_url and _fits_one_page(x)), None)
    if last is not None:
        _follow_once(report, client, session, last, stats,
                     f"the `next` link of the last page of {last.status or 'every ticket'}")


def _fits_one_page(listing: _Listing) -> bool:
    return listing.page.count is not None and len(listing.tickets) >= listing.page.count


def _follow_once(report: CheckReport, client: TicketsClient, session: Transport, listing: _Listing,
                 stats: ListingStats, what: str) -> None:
    try:
        page = _get(client, session, listing.page.next_url, stats, {})
    except UsercomHTTPError as error:
        if error.status_code == 404 and _fits_one_page(listing):
            report.add("last page", f"{what} answers 404 although every ticket of `count` was received: a run "
                                    "ends the listing there (handled)")
        else:
            report.fail("next links", f"{what} failed: {error}")
        return
    report.add("next links", f"{what}: {page.size} tickets, answered 200")


def _report_rate_limits(report: CheckReport, headers: dict[str, str], stats: ListingStats) -> None:
    if stats.retry_after_seen:
        headers = {**headers, "retry-after": stats.retry_after_seen}
    seen = ", ".join(f"{k}: {v}" for k, v in sorted(headers.items()))
    report.add("rate limits", (f"headers seen: {seen}" if seen else "no rate-limit or Retry-After headers seen")
               + f"; {stats.retries} request(s) retried (429, 5xx, or a 401 after the key was accepted)")


def _report_fields(report: CheckReport, tickets: list[dict]) -> None:
    if not tickets:
        report.add("fields", "no tickets to look at")
        return
    present = set().union(*(t.keys() for t in tickets))
    known = set(settings.LISTED_FIELDS) | set(settings.FULL_TICKET_FIELDS)
    extra = sorted(present - known)
    missing = [x for x in settings.LISTED_FIELDS if x not in present]
    report.add("fields", f"{len(present & known)} known fields present"
               + (f"; beyond the known set: {', '.join(extra)} (kept as columns or child tables)" if extra else "")
               + (f"; missing: {', '.join(missing)} (loaded as nulls)" if missing else ""))
    absent = [x for x in settings.REQUIRED_FIELDS if x not in present]
    if absent:
        report.fail("fields", f"no ticket carries {', '.join(absent)}, which every ticket needs: check that base_url "
                              "points at the tickets API (/api/public/)")


def _report_timestamps(report: CheckReport, tickets: list[dict]) -> None:
    forms: dict[str, set[str]] = {}
    for ticket in tickets:
        for name in ("created_at", "updated_at", "due_date"):
            _note_form(forms, name, ticket.get(name))
        for entry in ticket.get("status_history") or []:
            if isinstance(entry, dict):
                _note_form(forms, "status_history.entered_at", entry.get("entered_at"))
    for name, seen in forms.items():
        note = " (those tickets go to tickets_rejected with the reason)" if UNREADABLE in seen else ""
        report.add("timestamps", f"{name}: {', '.join(sorted(seen))}{note}")


def _note_form(forms: dict[str, set[str]], name: str, value: object) -> None:
    if value is None:
        return
    text = value if isinstance(value, str) else repr(value)
    form = next((label for pattern, label in _TIMESTAMP_FORMS if pattern.match(text)), None)
    if form is None:
        try:
            to_timestamp(value)
            form = "another ISO 8601 form"
        except NotCoercible:
            form = UNREADABLE
    forms.setdefault(name, set()).add(form)
