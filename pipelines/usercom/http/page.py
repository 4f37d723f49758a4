"""A page on its way from http/ to flatten/, in the one form it keeps until flattened: `Page`, what http/ hands on
(its bytes, and `count` and `next` read from its head before the tickets), into which the layer below parses the
tickets (pages/bodies.py); flatten/ reads them from it and makes a `FlatPage` (flatten/tables.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from pipelines.usercom.http.transport import Answer
from pipelines.usercom.http.urls import redact_url
from pipelines.usercom.times import parse_http_date

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Page:
    """One page of a listing, or consecutive pages whose tickets were parsed together: the only object that carries
    a page's `next` and `count`.

    http/ fills in the bodies, where and when they were fetched, and the head when it reads alone (`head_read`);
    parsing (pages/bodies.py) fills in the rest of the head and the tickets, as Arrow (`tickets`, by the JSON
    reader) or as parsed JSON (`results`)."""

    url: str = ""  # of the first page, as requested (`shown_url` for messages)
    number: int = 0  # of the first page
    bodies: list[bytes] = field(default_factory=list, repr=False)  # one per API page
    content_type: str = ""  # of the first page's answer
    server_time: datetime | None = None  # the earliest `Date` of the answers
    head_read: bool = False  # `next_url`, `count` and `empty` were read from the head, the tickets not parsed
    next_url: str | None = None  # of the last page
    count: int | None = None  # of the first page
    empty: bool = False  # `results` is an empty list
    tickets: pa.StructArray | None = None
    results: list | None = None
    lenient: bool = False  # parsed by the standard library: may hold lone surrogates or numbers beyond 64 bits

    @property
    def pages(self) -> int:
        """How many API pages this is."""
        return len(self.bodies)

    @property
    def parsed(self) -> bool:
        """Whether its tickets were parsed (as Arrow or as JSON)."""
        return self.tickets is not None or self.results is not None

    @property
    def size(self) -> int:
        """How many tickets it holds, once parsed."""
        return len(self.results) if self.results is not None else len(self.tickets)

    @property
    def shown_url(self) -> str:
        """Its URL as messages and logs show it."""
        return redact_url(self.url)


def fetched_page(answer: Answer, url: str, number: int, *, head: bool = True) -> Page:
    """A 200 answer for `url` as a `Page`: its body, and (with `head`) its head when it reads alone (see
    `page_head`); without `head` the page is to be parsed whole at once."""
    page = (page_head(answer.content) if head else None) or Page(bodies=[answer.content])
    page.url, page.number, page.server_time = url, number, server_time(answer)
    page.content_type = answer.headers.get("Content-Type", "no content type")
    return page


_RESULTS_KEY = b'"results"'

_EMPTY_LIST = re.compile(rb"\s*:\s*\[\s*\]")


def page_head(content: bytes) -> Page | None:
    """The page of `content`, its `count` and `next` read from the JSON before the top-level `results` key (the
    API sends them first) and its tickets not parsed; None when the page does not read that way, and must be
    parsed whole.

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
    return Page(bodies=[content], head_read=True, next_url=head["next"], count=head["count"],
                empty=_EMPTY_LIST.match(content, at + len(_RESULTS_KEY)) is not None)


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
