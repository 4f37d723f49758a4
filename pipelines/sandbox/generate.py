"""Deterministic fake User.com tickets, shaped like the real API's listing.

Only data lives here: no HTTP. `iter_tickets` streams tickets one at a time (the
sandbox server encodes them as it goes, so a million tickets never exist as
dicts all at once); `generate_tickets` is the list form.

Every random choice comes from one `random.Random(seed)` and the clock is the
fixed `DEFAULT_NOW`, so a seed always yields byte-identical tickets.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from math import exp
from math import log as _log

import orjson

__all__ = [
    "AGENTS",
    "DEFAULT_NOW",
    "PRIORITIES",
    "STATUSES",
    "generate_tickets",
    "iso",
    "iter_tickets",
]

#: The clock generated data is relative to, unless the caller passes `now`.
DEFAULT_NOW = datetime(2024, 6, 1, tzinfo=UTC)

#: Statuses the API knows (generated mix: active 25%, closed 50%, archived 17%, draft 8%).
STATUSES = ("active", "closed", "archived", "draft")

_AGENT_NAMES = (
    "Agent Bob", "Agent Alice", "Agent Carol", "Agent Dave", "Agent Erin",
    "Agent Frank", "Agent Grace", "Agent Heidi", "Agent Ivan", "Zoë Ünal",
)
#: The 10 helpdesk agents, as `{id, name, avatar}`.
AGENTS = tuple(
    {"id": i, "name": name, "avatar": f"https://static.example.invalid/img/agent-{i}.svg"}
    for i, name in enumerate(_AGENT_NAMES, start=1)
)
#: The 4 priorities, as `{id, name, order}` (order 1 = most urgent).
PRIORITIES = tuple(
    {"id": i, "name": name, "order": i} for i, name in enumerate(("Urgent", "High", "Normal", "Low"), start=1)
)

_FIRST = ("Anna", "Ben", "Chloé", "Dmitri", "Eva", "Femi", "Gustav", "Hana", "Ines", "Jonas",
          "Kenji", "Lena", "Mateusz", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Søren", "Tomasz")
_LAST = ("Nowak", "Smith", "García", "Müller", "Kowalski", "Rossi", "Tanaka", "O'Brien", "Dubois",
         "Jensen", "Silva", "Yılmaz", "Kim", "Novák", "Hughes", "Berg", "Costa", "Ivanova", "Lee", "Zhang")
_COMPANY_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
                  "Soylent", "Tyrell", "Cyberdyne", "Aperture", "Vandelay", "Pied Piper", "Gringotts")
_COMPANY_SUFFIX = ("Ltd", "GmbH", "S.A.", "Sp. z o.o.", "Inc.", "& Co.", "AB")

_SEGMENTS = ((13, "Closed"), (7, "VIP customers"), (21, "Billing"), (34, "Onboarding"),
             (42, "Bug reports"), (55, "Feature requests"), (61, "Enterprise"), (72, "Churn risk"))

_SUBJECTS = (
    "Cannot log in", "Invoice is wrong", "Password reset email never arrives",
    "Export to CSV fails", "Question about pricing", "Widget not showing on site",
    "Please cancel my subscription", "Bug in chat window", "Feature request: dark mode",
    "Refund request", "API returns 500", "How do I add a teammate?", "Slow dashboard",
    "Change billing address", "Duplicate charge", "Mobile app crashes on start",
)
_SHORT_BODIES = (
    "Hi, {subject_lc} since this morning. Can you help?",
    "Hello team,\nI noticed that {subject_lc}. Thanks in advance.",
    "{subject}. Ticket opened from the contact form.",
    "Customer reports: {subject_lc}.",
    "See attached screenshot. {subject}!",
    "",
)
# Fragments for the ~5% long descriptions: HTML, newlines, emoji, CJK, RTL, quotes.
_LONG_FRAGMENTS = (
    "<p>Dear support,</p>\n<p>I have tried <b>everything</b> and it still fails.</p>\n",
    "<ul><li>Step 1: open the \"Settings\" page</li><li>Step 2: click 'Save'</li></ul>\n",
    "Error text: <code>TypeError: cannot read property 'x' of undefined</code>\r\n",
    "It's really urgent 🔥🔥 — our launch is tomorrow 🚀. Merci beaucoup! 👍🏽\n",
    "日本語のお客様からの問い合わせです。ログインできません。よろしくお願いします。\n",
    "客户说：“导出功能无法使用”，请尽快处理。\n",
    "مرحبا، لا أستطيع تسجيل الدخول إلى حسابي. شكرا لكم\n",
    "שלום, החשבון שלי נחסם. תודה רבה\n",
    "Quote: \"He said \\\"it works on my machine\\\"\" & <script>alert('x')</script>\n",
    "Tab\tseparated\tvalues\tpasted\there\n",
    "Ünïcödé nämes: Zoë, Łukasz, Ørsted, Ñandú, Ĳssel. Zero-width:\u200b here.\n",
)
_CHANNELS = ("email", "chat", "phone", "web form", "api")
_PRODUCTS = ("Free plan", "Pro plan", "Business plan", "Enterprise")
_LANGUAGES = ("en", "pl", "de", "fr", "ja", "ar")
_ATTACHMENT_KINDS = (
    ("screenshot", "png", "image/png"),
    ("photo", "jpg", "image/jpeg"),
    ("invoice", "pdf", "application/pdf"),
    ("logs", "txt", "text/plain"),
    ("export", "csv", "text/csv"),
)

_EPOCH = datetime(1970, 1, 1)
_SECOND = 1_000_000
_HOUR = 3600 * _SECOND
_DAY = 24 * _HOUR
_N_PERSONS = 500
_N_COMPANIES = 50
_N_LONG_TEXTS = 64


# The generated history's shape (the status mix above is the listing's: a third of the tickets open). In a steady
# state the open third cannot be recent tickets only (Little's law: 1,650 open of 5,000 over 180 days is 60 days
# of arrivals), so: a ticket is open while it flows (closed after ~1.5 days, the status history's gaps), or it is
# parked (waiting on the customer, a feature request), and the older a ticket the likelier it was parked. No
# ticket younger than _PARKED_FROM is parked, so the backlog stays level over the last months instead of rising.
_WINDOW_DAYS = 180
_FLOW_DAYS = 1.5  # mean time a flowing ticket stays open
_PARKED_FROM = 28 * _DAY
_OPEN_SHARE = 0.33  # active 25% + draft 8%
_ACTIVE_OF_OPEN, _CLOSED_OF_DONE = 0.25 / 0.33, 0.50 / 0.67
# the parked share rises linearly from 0 at _PARKED_FROM to its top at the window's start, its top chosen so that
# the open share over the window is _OPEN_SHARE
_PARKED_TOP = 2 * (_OPEN_SHARE * _WINDOW_DAYS - _FLOW_DAYS) * _DAY / (_WINDOW_DAYS * _DAY - _PARKED_FROM)
_PARKED_AFTER = 14 * _DAY  # an open ticket older than this is a parked one
# parked tickets seldom carry a due date, the flowing ones mostly do: 70% of all tickets have one
_DUE_SHARE_PARKED = 0.25
_DUE_SHARE_FLOWING = (0.70 - _DUE_SHARE_PARKED * (_OPEN_SHARE * _WINDOW_DAYS - _FLOW_DAYS) / _WINDOW_DAYS) / (
    1 - (_OPEN_SHARE * _WINDOW_DAYS - _FLOW_DAYS) / _WINDOW_DAYS)


def _open_share(age: int) -> float:
    """The chance that a ticket created `age` microseconds ago is open now: still flowing, or parked."""
    flowing = exp(-age / (_FLOW_DAYS * _DAY))
    parked = _PARKED_TOP * (age - _PARKED_FROM) / (_WINDOW_DAYS * _DAY - _PARKED_FROM) if age > _PARKED_FROM else 0.0
    return flowing + parked


_DAY_PREFIX: dict[int, str] = {}


def iso(us: int) -> str:
    """Format microseconds since the Unix epoch as the API does: `2020-11-18T08:06:56.871986Z`."""
    day, rest = divmod(us, 86_400_000_000)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    if len(_DAY_PREFIX) > 100_000:
        _DAY_PREFIX.clear()
    seconds, micros = divmod(rest, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    return f"{prefix}{minutes // 60:02d}:{minutes % 60:02d}:{sec:02d}.{micros:06d}Z"


def _iso_midnight(us: int) -> str:
    """Format the midnight of a day (microseconds since the epoch) as `2020-11-25T00:00:00Z`."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="seconds") + "Z"


def _to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware (or UTC naive) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _persons(rng: random.Random) -> list[dict]:
    """The pool of end users (`{id, name, email}`) that tickets are about."""
    persons = []
    for i in range(1, _N_PERSONS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}.{i}@customer.example.invalid".lower().replace("'", "").replace(" ", "")
        persons.append({"id": 1000 + i, "name": f"{first} {last}", "email": email})
    return persons


def _companies(rng: random.Random) -> list[dict]:
    """The pool of companies (`{id, name}`)."""
    return [
        {"id": 500 + i, "name": f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_SUFFIX)} #{i}"}
        for i in range(1, _N_COMPANIES + 1)
    ]


def _long_texts(rng: random.Random) -> list[str]:
    """A pool of long (2-6 KB) descriptions; shared between tickets, since strings are immutable."""
    texts = []
    for _ in range(_N_LONG_TEXTS):
        target = rng.randint(2048, 6144)
        parts, size = [], 0
        while size < target:
            fragment = rng.choice(_LONG_FRAGMENTS)
            parts.append(fragment)
            size += len(fragment.encode())
        texts.append("".join(parts))
    return texts


def _status_path(rng: random.Random, status: str) -> tuple[str, ...]:
    """A plausible sequence of statuses a ticket went through to end in `status`."""
    roll = rng.random()
    if status == "draft":
        return ("draft",)
    if status == "active":
        if roll < 0.6:
            return ("active",)
        return ("draft", "active") if roll < 0.85 else ("active", "closed", "active")
    if status == "closed":
        if roll < 0.7:
            return ("active", "closed")
        return ("draft", "active", "closed") if roll < 0.85 else ("active", "closed", "active", "closed")
    return ("active", "closed", "archived") if roll < 0.8 else ("active", "archived")


def iter_tickets(count: int, seed: int = 42, now: datetime | None = None) -> Iterator[dict]:
    """Yield `count` tickets with ids 1..count, deterministic for a `seed` and `now`.

    `now` defaults to `DEFAULT_NOW` (2024-06-01T00:00:00Z), never the wall clock.
    Each ticket is a fresh dict (nested objects are copies, safe to mutate); only
    immutable strings are shared between tickets.
    """
    rng = random.Random(seed)
    now_us = _to_us(now if now is not None else DEFAULT_NOW)
    persons, companies, long_texts = _persons(rng), _companies(rng), _long_texts(rng)
    window = _WINDOW_DAYS * _DAY
    attachment_id = 0
    random_ = rng.random
    history_gap, update_gap = 1.5 * _DAY, 6 * _HOUR
    # Every (body template, subject) description, formatted once.
    short_bodies = {
        (body, subject): body.format(subject=subject, subject_lc=subject.lower())
        for body in _SHORT_BODIES
        for subject in _SUBJECTS
    }

    # `pick`/`between` are hot-loop stand-ins for rng.choice/rng.randrange (same seeded stream).
    def pick(seq):
        """One item of `seq`."""
        return seq[int(random_() * len(seq))]

    def between(low, high):
        """An int in [low, high)."""
        return low + int(random_() * (high - low))

    def distinct(seq, k):
        """`k` different items of `seq`, in the order drawn."""
        chosen: list = []
        while len(chosen) < k:
            item = pick(seq)
            if item not in chosen:
                chosen.append(item)
        return chosen

    for ticket_id in range(1, count + 1):
        # A helpdesk in steady state: tickets arrive at an even rate over the window; whether one is still open
        # depends on its age (_open_share), so the backlog and the weekly counts stay level in the last months.
        age = between(0, window)
        created = now_us - age
        if random_() < _open_share(age):
            status = "active" if random_() < _ACTIVE_OF_OPEN else "draft"
        else:
            status = "closed" if random_() < _CLOSED_OF_DONE else "archived"
        parked = status in ("active", "draft") and age > _PARKED_AFTER

        # Status history: first entry at created_at, then gaps (mean ~1.5 days), never past now.
        # (-log(1 - U) * mean is what rng.expovariate(1 / mean) computes, inlined.)
        path = _status_path(rng, status)
        created_at = iso(created)
        moment, stamps = created, [created_at]
        for _ in path[1:]:
            moment += min(int(-_log(1.0 - random_()) * history_gap), (now_us - moment) // 2)
            stamps.append(iso(moment))
        updated = moment + min(int(-_log(1.0 - random_()) * update_gap) + 1, now_us - moment)

        subject = pick(_SUBJECTS)
        if random_() < 0.05:
            description = pick(long_texts)
            name = subject + " — « 紧急 » 🚨 <b>\"help\"</b>\n(follow-up)" if random_() < 0.5 else subject
        else:
            description = short_bodies[(pick(_SHORT_BODIES), subject)]
            name = subject

        due_date = None
        if random_() < (_DUE_SHARE_PARKED if parked else _DUE_SHARE_FLOWING):
            due_date = _iso_midnight((created // _DAY + between(1, 15)) * _DAY)

        assigned = None if random_() < 0.08 else dict(pick(AGENTS))
        person = None if random_() < 0.10 else dict(pick(persons))
        company = None if random_() < 0.30 else dict(pick(companies))
        priority = None if random_() < 0.05 else dict(pick(PRIORITIES))

        n_participants = 0 if random_() < 0.55 else between(1, 4)
        participants = [dict(p) for p in distinct(persons, n_participants)] if n_participants else []
        n_segments = 0 if random_() < 0.4 else between(1, 3)
        segments = [
            {"name": seg_name, "url": f"/tickets/?segment={seg_id}"}
            for seg_id, seg_name in distinct(_SEGMENTS, n_segments)
        ]

        attachments = None
        if random_() >= 0.6:
            attachments = []
            for _ in range(between(1, 4)):
                attachment_id += 1
                stem, ext, content_type = pick(_ATTACHMENT_KINDS)
                file_name = f"{stem}-{attachment_id}.{ext}"
                attachments.append({
                    "id": attachment_id,
                    "name": file_name,
                    "url": f"https://files.example.invalid/tickets/{ticket_id}/{attachment_id}/{file_name}",
                    "size": between(200, 5_000_000),
                    "content_type": content_type,
                })

        ticket = {
            "id": ticket_id,
            "status": status,
            "name": name,
            "description": description,
            "created_at": created_at,
            "updated_at": iso(updated),
            "due_date": due_date,
            "assigned_to": assigned,
            "person": person,
            "company": company,
            "priority": priority,
            "participants": participants,
            "segments": segments,
            "attachments": attachments,
            "author": dict(pick(AGENTS)),
        }
        if random_() < 0.85:
            ticket["status_history"] = [
                {"entered_at": stamp, "status": s} for stamp, s in zip(stamps, path, strict=True)
            ]
        if random_() < 0.3:
            ticket["custom_id"] = f"EXT-{seed}-{ticket_id:07d}"
        if random_() < 0.5:
            attributes: dict = {"channel": pick(_CHANNELS), "product": pick(_PRODUCTS)}
            if random_() < 0.7:
                attributes["csat"] = between(1, 6) if random_() < 0.8 else None
            if random_() < 0.2:
                attributes["language"] = pick(_LANGUAGES)
            ticket["attributes"] = attributes
            ticket["serialized_attributes"] = orjson.dumps(attributes).decode()
        yield ticket


def generate_tickets(count: int, seed: int = 42, now: datetime | None = None) -> list[dict]:
    """Return `count` generated tickets (ids 1..count) as a list; see `iter_tickets`.

    The cyclic garbage collector is paused while the list is built (it would
    otherwise rescan the growing heap again and again, a third of the time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(iter_tickets(count, seed, now))
    finally:
        if was_enabled:
            gc.enable()
