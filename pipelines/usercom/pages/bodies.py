"""A page's tickets parsed into its `Page`: by the Arrow JSON reader when it takes them (GIL released while it
parses), else by `parse_page_body`, which also tells a body that is not a ticket page."""

from __future__ import annotations

import logging

import requests

from pipelines.usercom.errors import NotColumnar, Retryable, UsercomResponseError
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.flatten.json_text import parse_page_body
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.page import Page, fetched_page
from pipelines.usercom.http.transport import Answer, Transport
from pipelines.usercom.listing_stats import ListingStats

log = logging.getLogger("usercom.client")


def decode_page(page: Page, answer: Answer | None = None) -> tuple[dict, bool]:
    """The JSON of a page's body (one API page) and whether it needed the lenient parser; `Retryable` (carrying
    `answer`) when it is not JSON (a proxy's error page, a body cut short), `UsercomResponseError` when it is JSON
    but not a ticket page."""
    content = page.bodies[0]
    try:
        doc, lenient = parse_page_body(content)
    except (ValueError, requests.RequestException) as error:
        # a proxy's HTML error page or a body cut short: worth another try
        raise Retryable(f"the body of a 200 answer is not JSON ({page.content_type}, {len(content)} bytes: "
                        f"{str(error)[:80]})", answer) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise UsercomResponseError(
            f"User.com API answered GET {page.shown_url} with JSON that is not a ticket page "
            "(no `results` list); check base_url points at /api/public/."
        )
    next_url = doc.get("next")
    if next_url is not None and not isinstance(next_url, str):
        raise UsercomResponseError(f"`next` in the page at {page.shown_url} is not a URL: {str(next_url)[:80]}")
    return doc, lenient


def parse_page(reader: PageReader | None, page: Page, answer: Answer | None = None) -> Page:
    """`page` (one API page) with its tickets and head parsed: as Arrow when the reader takes them, else as parsed
    JSON (pages with values only the row flattener handles); raises as `decode_page` does for a body that is
    not a page."""
    try:
        if reader is not None:
            page.tickets, page.count, page.next_url = reader.read(page.bodies[0])
            return page
    except NotColumnar as why:
        log.debug("page %s is read row by row: %s", page.shown_url, why)
    doc, page.lenient = decode_page(page, answer)
    page.results, page.count, page.next_url = doc["results"], doc.get("count"), doc.get("next")
    return page


def get_page(client: TicketsClient, session: Transport, url: str, stats: ListingStats) -> tuple[Page, Answer]:
    """One page read whole and parsed to JSON as a run reads it (pacing, retries, the body checked to be a page),
    and the answer it came in; raises `UsercomHTTPError` (with the status code) or `UsercomResponseError` when
    the API will not give it."""
    def parsed(answer: Answer) -> tuple[Page, Answer]:
        return parse_page(None, fetched_page(answer, url, 1, head=False), answer), answer

    return client.fetch(session, url, stats, parsed)
