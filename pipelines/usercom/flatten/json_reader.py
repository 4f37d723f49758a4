"""Page bodies parsed straight into Arrow by pyarrow's JSON reader (C++, without the GIL, no Python object per value).

The reader is told the type of every known field, so it types them while it parses, and refuses a page
where a value does not fit (an id sent as text, an object where a list belongs, a lone surrogate, a key
given twice): such a page is read by `parse_page_body` and flattened row by row instead, which rejects or
keeps each odd value exactly. Fields the code does not know are inferred by the reader; once a page has
shown one, its type is declared for the pages after it (a timestamp-like text field is declared as text,
which is what the row flattener makes of it).

Measured on the sandbox's pages (3.3 MB, 2,500 tickets): orjson.loads 22-30 ms, this reader 38 ms with the
known fields declared (83 ms inferring every field), and its result needs no flattening pass in Python. A
call costs ~0.37 ms whatever its size, so `read_many` takes ~2 MB of pages at once (100,000 tickets: ~0.95 s
of CPU, none of it holding the GIL).
"""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.types as pat

from pipelines.usercom.errors import NotColumnar
from pipelines.usercom.flatten.fields import LIST_FIELDS, OBJECT_FIELDS, TICKET_COLUMNS, TIMESTAMP

# the reader's block must hold the whole body: a page is one JSON document, not one per line
_MIN_BLOCK = 1 << 16
# fields declared at most (an API that sends ever new keys would otherwise grow the declared type forever)
MAX_DECLARED_FIELDS = 2_000


def _as_text(arrow_type: pa.DataType) -> pa.DataType:
    """The declared type of a known field: timestamps are read as text and cast afterwards, as the row path does."""
    return pa.string() if arrow_type == TIMESTAMP else arrow_type


def _struct(fields: dict[str, pa.DataType]) -> pa.StructType:
    return pa.struct([pa.field(name, _as_text(arrow_type)) for name, arrow_type in fields.items()])


def known_ticket_fields() -> dict[str, pa.DataType]:
    """The declared type of every field the code knows, as the reader should type it."""
    fields: dict[str, pa.DataType] = {name: _as_text(t) for name, t in TICKET_COLUMNS.items()}
    fields.update({name: _struct(sub) for name, sub in OBJECT_FIELDS.items()})
    fields.update({name: pa.list_(_struct(sub)) for name, sub in LIST_FIELDS.items()})
    return fields


class PageReader:
    """Parses page bodies into Arrow tickets; shared by every listing of a run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ticket_type = pa.struct([pa.field(n, t) for n, t in known_ticket_fields().items()])
        self._options = self._parse_options(self._ticket_type)

    @staticmethod
    def _parse_options(ticket_type: pa.StructType) -> pj.ParseOptions:
        page = pa.schema([("count", pa.int64()), ("next", pa.string()), ("previous", pa.string()),
                          ("results", pa.list_(ticket_type))])
        return pj.ParseOptions(explicit_schema=page, unexpected_field_behavior="infer")

    def read(self, body: bytes) -> tuple[pa.StructArray, int | None, str | None]:
        """One page's tickets as Arrow, its `count` and its `next`; raises NotColumnar when the row path must read it."""
        page = self._read_table(body, 1)
        return self._tickets(page), page.column("count")[0].as_py(), page.column("next")[0].as_py()

    def read_many(self, bodies: list[bytes], next_urls: list[str | None]) -> pa.StructArray:
        """The tickets of several pages, parsed in one call, as one struct array; raises NotColumnar when any
        page must be read on its own. `next_urls` are the links already read from the pages' heads."""
        if any(b"\n" in body for body in bodies):  # a page per line: a pretty-printed page is read alone
            raise NotColumnar("a page spans several lines")
        page = self._read_table(b"\n".join(bodies), len(bodies))
        if page.column("next").to_pylist() != next_urls:
            raise NotColumnar("`next` differs from the page's head")
        return self._tickets(page)

    def _read_table(self, data: bytes, pages: int) -> pa.Table:
        options = self._options
        table = self._parse(data, options, pages)
        tickets_type = table.column("results").type.value_type
        if tickets_type != self._ticket_type:
            learned = _declared(self._ticket_type, tickets_type)
            if learned is not None:  # new fields: declare them for the pages after these
                with self._lock:
                    merged = _merge(self._ticket_type, learned)
                    if merged != self._ticket_type and _field_count(merged) <= MAX_DECLARED_FIELDS:
                        self._ticket_type = merged
                        self._options = self._parse_options(merged)
                    options = self._options
            if _has_temporal(tickets_type):  # text the reader took for timestamps: read again, as text
                table = self._parse(data, options, pages)
        return table

    @staticmethod
    def _tickets(page: pa.Table) -> pa.StructArray:
        results = page.column("results").chunk(0)
        if results.null_count:
            raise NotColumnar("`results` is not a list")
        tickets = results.flatten()
        try:
            tickets.validate(full=True)  # the reader does not check UTF-8; the row path's parser refuses what is not
        except pa.ArrowInvalid as error:
            raise NotColumnar(f"not valid text: {error}") from None
        return tickets

    @staticmethod
    def _parse(data: bytes, options: pj.ParseOptions, pages: int) -> pa.Table:
        try:
            table = pj.read_json(pa.py_buffer(data), parse_options=options, read_options=pj.ReadOptions(
                use_threads=False, block_size=max(_MIN_BLOCK, len(data) + 1)))
        except pa.ArrowException as error:
            raise NotColumnar(str(error).splitlines()[0][:200]) from None
        if table.num_rows != pages:
            raise NotColumnar(f"{table.num_rows} JSON documents where {pages} page(s) were sent")
        if table.column("results").num_chunks != 1:  # one block holds the whole body: one chunk, never copied
            raise NotColumnar("the reader split the body")
        return table


def _declared(known: pa.DataType, parsed: pa.DataType) -> pa.DataType | None:
    """`parsed` with what the reader inferred turned into what later pages should declare; None when it inferred
    nothing new. Timestamps the reader inferred from text become text; fields it saw only as null stay undeclared.
    """
    if known == parsed:
        return None
    if pat.is_struct(parsed):
        names = {f.name for f in known} if pat.is_struct(known) else set()
        fields, changed = [], False
        for field in parsed:
            inner = known.field(field.name).type if field.name in names else None
            if inner is None:
                declared = _inferred(field.type)
                changed = True
                if declared is not None:
                    fields.append(pa.field(field.name, declared))
                continue
            sub = _declared(inner, field.type)
            changed |= sub is not None
            fields.append(pa.field(field.name, sub if sub is not None else inner))
        return pa.struct(fields) if changed else None
    if pat.is_list(parsed) and pat.is_list(known):
        sub = _declared(known.value_type, parsed.value_type)
        return None if sub is None else pa.list_(sub)
    return None


def _inferred(arrow_type: pa.DataType) -> pa.DataType | None:
    """What to declare for a field the reader inferred: None (leave it to inference) for null, text for timestamps."""
    if pat.is_null(arrow_type):
        return None
    if _is_temporal(arrow_type):
        return pa.string()
    if pat.is_struct(arrow_type):
        return pa.struct([pa.field(f.name, t) for f in arrow_type if (t := _inferred(f.type)) is not None])
    if pat.is_list(arrow_type):
        inner = _inferred(arrow_type.value_type)
        return pa.list_(inner) if inner is not None else None
    return arrow_type


def _merge(old: pa.DataType, new: pa.DataType) -> pa.DataType:
    """`old` with the fields `new` adds (recursively); a field both have keeps `old`'s type."""
    if pat.is_struct(old) and pat.is_struct(new):
        fields = {f.name: f.type for f in old}
        for field in new:
            fields[field.name] = _merge(fields[field.name], field.type) if field.name in fields else field.type
        return pa.struct([pa.field(n, t) for n, t in fields.items()])
    if pat.is_list(old) and pat.is_list(new):
        return pa.list_(_merge(old.value_type, new.value_type))
    return old


def _is_temporal(arrow_type: pa.DataType) -> bool:
    return pat.is_timestamp(arrow_type) or pat.is_date(arrow_type) or pat.is_time(arrow_type)


def _has_temporal(arrow_type: pa.DataType) -> bool:
    if _is_temporal(arrow_type):
        return True
    if pat.is_struct(arrow_type):
        return any(_has_temporal(f.type) for f in arrow_type)
    if pat.is_list(arrow_type):
        return _has_temporal(arrow_type.value_type)
    return False


def _field_count(arrow_type: pa.DataType) -> int:
    if pat.is_struct(arrow_type):
        return sum(1 + _field_count(f.type) for f in arrow_type)
    if pat.is_list(arrow_type):
        return _field_count(arrow_type.value_type)
    return 0
