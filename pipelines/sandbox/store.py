"""The sandbox's ticket state: tickets, per-status id indexes, keyset pages and their cache.

No HTTP here. Tickets are kept as their orjson bytes (about 1.3 KB each, so a
million fit in memory without a million dicts), one sorted id list per status
(plus `None` for all tickets) makes a page lookup a bisect plus a slice, and
rendered page bodies are cached until the next data change.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson

from .generate import STATUSES, iso

__all__ = ["Cursor", "TicketStore", "decode_cursor", "encode_cursor"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORJSON_OPTS = orjson.OPT_UTC_Z
#: Upper bound on cached page bodies. Past it new pages are rendered but not kept:
#: evicting would only churn on the sequential walks clients make (a 1M-ticket walk
#: never revisits a page before it would be evicted), and rendering is one join.
CACHE_MAX_BYTES = 512 * 1024 * 1024

#: A decoded cursor: (direction, id, page). ("after", id, p) is the page of ids above `id`,
#: ("before", id, p) the page of ids just below it; `p` is that page's 1-based number in
#: the listing as the client walks it (carried in the cursor, so it stays put when
#: tickets move between listings mid-walk).
Cursor = tuple[str, int, int]


def encode_cursor(direction: str, ticket_id: int, page: int) -> str:
    """Return the opaque cursor string for page `page`, after/before `ticket_id`."""
    raw = orjson.dumps({"d": direction[0], "id": ticket_id, "p": page})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(value: str) -> Cursor:
    """Decode a cursor made by `encode_cursor`; raise ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise ValueError("Invalid cursor") from exc
    if not isinstance(data, dict) or set(data) != {"d", "id", "p"}:
        raise ValueError("Invalid cursor")
    direction, ticket_id, page = data["d"], data["id"], data["p"]
    if direction not in ("a", "b") or type(ticket_id) is not int or ticket_id < 0:
        raise ValueError("Invalid cursor")
    if type(page) is not int or page < 1:
        raise ValueError("Invalid cursor")
    return ("after" if direction == "a" else "before", ticket_id, page)


def _encode(ticket: dict) -> bytes:
    """A ticket's JSON bytes, copied to an exact-size object.

    orjson returns bytes that keep its whole growth buffer (about 10 KB for a
    1.3 KB ticket); a million of those would waste gigabytes.
    """
    return bytes(memoryview(orjson.dumps(ticket, option=_ORJSON_OPTS)))


def _microseconds(value) -> int | None:
    """Microseconds since the epoch of an ISO timestamp string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class TicketStore:
    """Thread-safe ticket state with keyset pagination over per-status id lists.

    Every public method takes `lock` (a re-entrant lock, so a request hook that
    already holds it can call `update` and friends). Any change clears the page cache.
    """

    def __init__(self, tickets: Iterable[dict] = ()) -> None:
        """Create a store holding `tickets` (dicts with an int `id` and a str `status`)."""
        self.lock = threading.RLock()
        self._rows: dict[int, bytes] = {}
        self._status: dict[int, str] = {}
        self._ids: dict[str | None, list[int]] = {None: []}
        self._max_updated = 0
        self._cache: dict[tuple, tuple[bytes, int]] = {}
        self._cache_bytes = 0
        self.replace(tickets)

    # ----- changes -------------------------------------------------------------------
    def replace(self, tickets: Iterable[dict]) -> None:
        """Replace every ticket with `tickets` (copied; the caller's dicts are not kept)."""
        rows: dict[int, bytes] = {}
        status_of: dict[int, str] = {}
        ids: dict[str | None, list[int]] = {None: []}
        max_updated = 0
        for ticket in tickets:
            ticket_id, status = self._check(ticket)
            if ticket_id in rows:
                raise ValueError(f"duplicate ticket id {ticket_id}")
            rows[ticket_id] = _encode(ticket)
            status_of[ticket_id] = status
            ids[None].append(ticket_id)
            ids.setdefault(status, []).append(ticket_id)
            updated = _microseconds(ticket.get("updated_at"))
            if updated is not None and updated > max_updated:
                max_updated = updated
        for id_list in ids.values():
            id_list.sort()
        with self.lock:
            self._rows, self._status, self._ids = rows, status_of, ids
            self._max_updated = max_updated
            self._clear_cache()

    def add(self, ticket: dict) -> None:
        """Add one new ticket; raise ValueError if its id is taken."""
        ticket_id, _ = self._check(ticket)
        with self.lock:
            if ticket_id in self._rows:
                raise ValueError(f"ticket {ticket_id} already exists")
            self._put(ticket)

    def update(self, ticket_id: int, changes: dict) -> dict:
        """Apply `changes` to a ticket and return its new state (see SandboxServer.update_ticket)."""
        with self.lock:
            ticket = orjson.loads(self._rows[ticket_id])
            if "id" in changes and changes["id"] != ticket_id:
                raise ValueError("update_ticket cannot change a ticket's id")
            old_status = ticket.get("status")
            ticket.update(changes)
            if "updated_at" not in changes:
                ticket["updated_at"] = iso(self._max_updated + 1_000_000)
            history = ticket.get("status_history")
            if (
                ticket.get("status") != old_status
                and "status_history" not in changes
                and isinstance(history, list)
            ):
                entered = ticket["updated_at"]
                if isinstance(entered, datetime):
                    entered = orjson.loads(orjson.dumps(entered, option=_ORJSON_OPTS))
                history.append({"entered_at": entered, "status": ticket["status"]})
            self._put(ticket)
            return orjson.loads(self._rows[ticket_id])

    def delete(self, ticket_id: int) -> None:
        """Remove a ticket; raise KeyError if there is none with that id."""
        with self.lock:
            if ticket_id not in self._rows:
                raise KeyError(ticket_id)
            del self._rows[ticket_id]
            self._unindex(ticket_id, self._status.pop(ticket_id))
            self._clear_cache()

    # ----- reads ---------------------------------------------------------------------
    def all(self) -> list[dict]:
        """Every ticket, in id order, as fresh dicts (a deep copy of the state)."""
        with self.lock:
            rows = [self._rows[i] for i in self._ids[None]]
        return [orjson.loads(row) for row in rows]

    def __len__(self) -> int:
        """Number of tickets."""
        return len(self._rows)

    def is_status(self, value: str) -> bool:
        """Whether `value` is a status the listing can be filtered by."""
        return value in STATUSES or value in self._ids

    @staticmethod
    def page_number(cursor: Cursor | None) -> int:
        """1-based position, in its listing, of the page `cursor` points at (1 without one)."""
        return cursor[2] if cursor is not None else 1

    def page(
        self, status: str | None, cursor: Cursor | None, page_size: int, next_prefix: str, next_suffix: str
    ) -> tuple[bytes, int]:
        """The response body of one page and its 1-based page number.

        `next`/`previous` are `next_prefix + <cursor> + next_suffix`. Bodies are
        rendered once and served from the cache until the data changes.
        """
        key = (status, cursor, page_size, next_prefix, next_suffix)
        with self.lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            ids = self._ids.get(status, [])
            start, stop = self._bounds(ids, cursor, page_size)
            page_ids = ids[start:stop]
            rows = [self._rows[i] for i in page_ids]
            next_url = prev_url = None
            number = self.page_number(cursor)
            if stop < len(ids):
                last = page_ids[-1] if page_ids else ids[stop] - 1
                next_url = next_prefix + encode_cursor("after", last, number + 1) + next_suffix
            if start > 0:
                first = page_ids[0] if page_ids else ids[start - 1] + 1
                prev_url = next_prefix + encode_cursor("before", first, max(1, number - 1)) + next_suffix
            head = orjson.dumps({"count": len(ids), "next": next_url, "previous": prev_url})
            # One join of head, rows and separators: a single allocation of the body.
            opening = head[:-1] + b',"results":['
            if rows:
                parts = [b","] * (2 * len(rows) + 1)  # opening, row, ",", row, ..., row, "]}"
                parts[0], parts[1::2], parts[-1] = opening, rows, b"]}"
            else:
                parts = [opening, b"]}"]
            body = b"".join(parts)
            result = (body, number)
            if self._cache_bytes + len(body) <= CACHE_MAX_BYTES:
                self._cache[key] = result
                self._cache_bytes += len(body)
            return result

    # ----- internals -----------------------------------------------------------------
    @staticmethod
    def _check(ticket: dict) -> tuple[int, str]:
        """Validate the fields the store indexes on; return (id, status)."""
        if not isinstance(ticket, dict):
            raise TypeError(f"a ticket must be a dict, not {type(ticket).__name__}")
        ticket_id, status = ticket.get("id"), ticket.get("status")
        if type(ticket_id) is not int:
            raise ValueError(f"ticket id must be an int, got {ticket_id!r}")
        if not isinstance(status, str):
            raise ValueError(f"ticket {ticket_id} has no string status")
        return ticket_id, status

    @staticmethod
    def _bounds(ids: list[int], cursor: Cursor | None, page_size: int) -> tuple[int, int]:
        """Slice bounds in `ids` of the page a cursor points at (keyset on id)."""
        if cursor is None:
            return 0, min(page_size, len(ids))
        direction, ticket_id, _ = cursor
        if direction == "after":
            start = bisect.bisect_right(ids, ticket_id)
            return start, min(start + page_size, len(ids))
        stop = bisect.bisect_left(ids, ticket_id)
        return max(0, stop - page_size), stop

    def _put(self, ticket: dict) -> None:
        """Store (insert or overwrite) one validated ticket; caller holds the lock."""
        ticket_id, status = self._check(ticket)
        row = _encode(ticket)
        old_status = self._status.get(ticket_id)
        if old_status is None:
            bisect.insort(self._ids[None], ticket_id)
        if old_status != status:
            if old_status is not None:
                self._unindex(ticket_id, old_status, keep_all=True)
            bisect.insort(self._ids.setdefault(status, []), ticket_id)
        self._rows[ticket_id] = row
        self._status[ticket_id] = status
        updated = _microseconds(ticket.get("updated_at"))
        if updated is not None and updated > self._max_updated:
            self._max_updated = updated
        self._clear_cache()

    def _unindex(self, ticket_id: int, status: str, keep_all: bool = False) -> None:
        """Drop an id from its status list (and from the all-tickets list unless keep_all)."""
        lists = [self._ids[status]] if keep_all else [self._ids[status], self._ids[None]]
        for ids in lists:
            pos = bisect.bisect_left(ids, ticket_id)
            if pos < len(ids) and ids[pos] == ticket_id:
                del ids[pos]

    def _clear_cache(self) -> None:
        """Forget every rendered page (called on any data change)."""
        self._cache.clear()
        self._cache_bytes = 0
