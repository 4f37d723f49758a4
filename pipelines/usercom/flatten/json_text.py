"""The JSON text parser of page bodies (pages/ parses a page whole with it, the row path the pages the JSON reader
took but the columnar path refused), and the parsed tickets of a `Page` as the row path reads them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from pipelines.usercom.http.page import Page


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


def page_rows(page: Page) -> tuple[list, bool]:
    """The tickets of `page` as parsed JSON (its bodies parsed now when the JSON reader took them), and whether the
    lenient parser read any of them."""
    if page.results is not None:
        return page.results, page.lenient
    rows, lenient = [], page.lenient
    for body in page.bodies:
        doc, strange = parse_page_body(body)
        rows.extend(doc["results"])
        lenient |= strange
    return rows, lenient
