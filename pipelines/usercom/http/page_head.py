"""What http/ hands on of a page: its answer (the body as bytes) and its head, `count` and `next` read from the JSON
before the tickets; parsing the tickets is left to the layer below (pages/, flatten/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson

from pipelines.usercom.http.transport import Answer
from pipelines.usercom.times import parse_http_date


@dataclass
class RawPage:
    """One page as fetched, its tickets not parsed: `count`, `next` and whether `results` is empty, read from its
    head, and the answer holding the body."""

    next_url: str | None
    count: int | None
    empty: bool
    url: str = ""
    number: int = 0
    response: Answer | None = None


_RESULTS_KEY = b'"results"'

_EMPTY_LIST = re.compile(rb"\s*:\s*\[\s*\]")


def page_head(content: bytes) -> RawPage | None:
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
    return RawPage(head["next"], head["count"], _EMPTY_LIST.match(content, at + len(_RESULTS_KEY)) is not None)


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
