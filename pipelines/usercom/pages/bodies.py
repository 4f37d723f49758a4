"""A page's body parsed into a `Page`: by the Arrow JSON reader when it takes it (GIL released while it parses),
else by `parse_page_body`, which also tells a body that is not a ticket page."""

from __future__ import annotations

import logging

import requests

from pipelines.usercom.errors import NotColumnar, Retryable, UsercomResponseError
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.flatten.page import Page, parse_page_body
from pipelines.usercom.http.client import ListingStats, TicketsClient
from pipelines.usercom.http.page_head import server_time
from pipelines.usercom.http.transport import Answer, Transport
from pipelines.usercom.http.urls import redact_url

log = logging.getLogger("usercom.client")


def decode_page(response: Answer, url: str) -> tuple[dict, bool]:
    """The JSON of a 200 answer's body and whether it needed the lenient parser; `Retryable` when it is not JSON
    (a proxy's error page, a body cut short), `UsercomResponseError` when it is JSON but not a ticket page."""
    try:
        doc, lenient = parse_page_body(response.content)
    except (ValueError, requests.RequestException) as error:
        # a proxy's HTML error page or a body cut short: worth another try
        kind = response.headers.get("Content-Type", "no content type")
        raise Retryable(f"the body of a 200 answer is not JSON ({kind}, {len(response.content)} bytes: {str(error)[:80]})",
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


def parse_page(reader: PageReader | None, response: Answer, url: str, number: int) -> Page:
    """The page of a 200 answer, its tickets as Arrow when the reader takes them, else as parsed JSON (pages with
    values only the row flattener handles); raises as `decode_page` does for a body that is not a page."""
    page = None
    try:
        if reader is not None:
            page = reader.read(response.content)
    except NotColumnar as why:
        log.debug("page %s is read row by row: %s", redact_url(url), why)
    if page is None:
        doc, lenient = decode_page(response, url)
        page = Page(results=doc["results"], count=doc.get("count"), lenient=lenient, next_url=doc.get("next"))
    page.url, page.number, page.server_time = redact_url(url), number, server_time(response)
    return page


def get_page(client: TicketsClient, session: Transport, url: str, stats: ListingStats) -> Answer:
    """One page read whole as a run reads it (pacing, retries, the body checked to be a page); raises
    `UsercomHTTPError` (with the status code) or `UsercomResponseError` when the API will not give it."""
    def checked(response: Answer) -> Answer:
        decode_page(response, url)
        return response

    return client.fetch(session, url, stats, checked)
