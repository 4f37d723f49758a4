"""What a page's body says: `count` and `next` read from its head alone (the tickets are parsed later, in
batches), or the whole body decoded and checked to be a ticket page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson
import pyarrow as pa
import requests

from pipelines.usercom.errors import Retryable, UsercomResponseError
from pipelines.usercom.flatten.page import parse_page_body
from pipelines.usercom.http.transport import Answer
from pipelines.usercom.http.urls import redact_url
from pipelines.usercom.times import parse_http_date


@dataclass
class Body:
    """A decoded page body: `next`, `count`, and the tickets as Arrow or as parsed JSON."""

    next_url: str | None
    count: int | None
    results: list[dict] | None = None
    tickets: pa.StructArray | None = None
    lenient: bool = False

    @property
    def size(self) -> int:
        """How many tickets the page holds."""
        return len(self.results) if self.results is not None else len(self.tickets)

    def statuses(self) -> list:
        """The `status` of each ticket (None where there is none)."""
        if self.results is not None:
            return [t.get("status") if isinstance(t, dict) else None for t in self.results]
        if self.tickets.type.get_field_index("status") < 0:
            return [None] * len(self.tickets)
        return self.tickets.field("status").to_pylist()


@dataclass
class Fetched:
    """One page as fetched: `next` and `count` known; its tickets parsed (`body`) or left for a batch."""

    url: str
    number: int
    response: Answer
    next_url: str | None
    count: int | None
    empty: bool
    body: Body | None = None

    @property
    def deferred(self) -> bool:
        """Whether its tickets are left for a batch."""
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


def server_message(response: Answer) -> str:
    """What the server said in an error answer: its `detail`, else the start of the body."""
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict) and "detail" in body:
            return str(body["detail"])
    except orjson.JSONDecodeError:
        pass
    return response.text[:300]


def server_time(response: Answer) -> datetime | None:
    """The server's clock when it answered (its `Date` header); None without one."""
    return parse_http_date(response.headers.get("Date"))
