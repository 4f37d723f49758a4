"""Deterministic fake User.com tickets, shaped like the real API's listing.

Only data lives here: no HTTP. `iter_tickets` streams tickets one at a time (the
sandbox server encodes them as it goes, so a million tickets never exist as
dicts all at once); `generate_tickets` is the list form.

Every random choice comes from one `random.Random(seed)` and the clock is the
fixed `DEFAULT_NOW`, so a seed always yields byte-identical tickets.
"""

from __future__ import annotations

import bisect
import gc
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
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

#: Statuses the API knows (generated mix at `now`: about 1% active, 4.5% draft, 57% closed, 37% archived).
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


# The generated history's shape: a helpdesk in steady state over the _WINDOW_DAYS before `now`. Tickets arrive at a
# level rate (a weekday and hour-of-day profile, each week's volume within a few percent of the others); each one's
# life is drawn from its priority: time on the clock (active) to its first close, lognormal, urgent fastest; some
# wait on the customer or are put on hold in draft (the clock stops) on the way; a few are reopened; closed ones
# are archived later. A ticket is open (active or draft) at `now` when its life has not ended by then, so the open
# share follows Little's law: arrivals a day x mean open time (~11 days), of the _LEAD_IN_DAYS + _WINDOW_DAYS the
# history spans, about 3.5%. The history starts _LEAD_IN_DAYS before the window, every ticket of it listed at the
# same level rate: the backlog builds up from nothing over its first ~10 weeks (a helpdesk's first days), so it is
# level from the window's first day on, and the weeks before read as a helpdesk's history (none left out).
_WINDOW_DAYS = 180
_LEAD_IN_DAYS = 112
_WEEKDAY_WEIGHTS = (1.2, 1.15, 1.1, 1.05, 0.95, 0.35, 0.3)  # Monday first
_HOUR_WEIGHTS = (0.15, 0.1, 0.1, 0.1, 0.15, 0.25, 0.45, 0.8, 1.2, 1.5, 1.6, 1.55,  # UTC hours 0-11
                 1.4, 1.5, 1.55, 1.45, 1.3, 1.05, 0.8, 0.6, 0.45, 0.35, 0.25, 0.2)
_WEEKLY_NOISE = 0.04  # sigma of a week's volume factor (lognormal)
# Time on the clock to the first close by priority order (None: no priority), lognormal: (median hours, sigma).
# Against the packaged targets (4, 24, 72, 168 h) about 85% close in time (a wait or a hold stops the clock); the
# long tails, the low priorities most, keep a share of the backlog active.
_HANDLING = {1: (1.0, 1.2), 2: (5.0, 1.4), 3: (14.0, 1.6), 4: (32.0, 1.8), None: (14.0, 1.6)}
_DRAFTED_FIRST, _DRAFTED = 0.08, (2.0, 1.0)  # created as a draft, made active after (median hours, sigma)
# The shares of tickets that, half-way through the handling, wait on the customer (median 5 days) or are put on
# hold (a feature request, a long investigation: median 5 weeks) in draft, by priority order: urgent ones seldom.
_WAITS = {1: 0.12, 2: 0.25, 3: 0.35, 4: 0.35, None: 0.35}
_HOLDS = {1: 0.03, 2: 0.08, 3: 0.18, 4: 0.25, None: 0.18}
_WAIT, _HOLD = (120.0, 0.9), (840.0, 0.6)  # (median hours, sigma)
_CLOSED_BY_ARCHIVING = 0.08  # closed straight into archived (spam, duplicates)
_REOPENS, _REOPENED_AFTER = 0.07, (48.0, 1.0)  # reopened this long after closing, then handled again (half as long)
_ARCHIVES, _ARCHIVED_AFTER = 0.40, (480.0, 0.6)  # a closed ticket archived this long after (~3 weeks)
# due dates at midnight, days after the day the handling (re)started by priority order (a wait or a hold moves the
# due date half of the time); the tickets put on hold seldom carry one
_DUE_DAYS = {1: (1, 2), 2: (1, 4), 3: (2, 7), 4: (5, 15), None: (2, 7)}
_DUE_SHARE, _DUE_SHARE_ON_HOLD, _DUE_MOVED = 0.80, 0.20, 0.5


def _arrival_weights(rng: random.Random, start_us: int, days: int) -> list[float]:
    """The cumulative arrival weight of each hour of `days` days from `start_us`: the weekday and hour-of-day profile
    times the week's volume factor (lognormal, drawn from `rng`); an arrival picks its hour by bisection."""
    first_hour = start_us // _HOUR
    weeks = {}
    weights = []
    for hour in range(first_hour, first_hour + days * 24):
        day = hour // 24
        week = (day + 3) // 7  # Monday-based weeks (1970-01-01 was a Thursday)
        if week not in weeks:
            weeks[week] = exp(rng.gauss(0.0, _WEEKLY_NOISE))
        weights.append(_WEEKDAY_WEIGHTS[(day + 3) % 7] * _HOUR_WEIGHTS[hour % 24] * weeks[week])
    return list(accumulate(weights))


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


def iter_tickets(count: int, seed: int = 42, now: datetime | None = None) -> Iterator[dict]:
    """Yield `count` tickets with ids 1..count, deterministic for a `seed` and `now`.

    `now` defaults to `DEFAULT_NOW` (2024-06-01T00:00:00Z), never the wall clock.
    Each ticket is a fresh dict (nested objects are copies, safe to mutate); only
    immutable strings are shared between tickets.
    """
    rng = random.Random(seed)
    now_us = _to_us(now if now is not None else DEFAULT_NOW)
    persons, companies, long_texts = _persons(rng), _companies(rng), _long_texts(rng)
    window_start = now_us - _WINDOW_DAYS * _DAY
    span_start = window_start - _LEAD_IN_DAYS * _DAY
    arrivals = _arrival_weights(rng, span_start, _LEAD_IN_DAYS + _WINDOW_DAYS)
    arrivals_total = arrivals[-1]
    attachment_id = 0
    random_, gauss = rng.random, rng.gauss
    update_gap = 10 * 60 * _SECOND  # updated_at: the last change, then a later edit or none (mean 10 minutes)
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

    def lasting(median_sigma):
        """A lognormal duration in microseconds (at least 1), from its (median hours, sigma)."""
        median, sigma = median_sigma
        return max(1, int(median * exp(sigma * gauss(0.0, 1.0)) * _HOUR))

    def life(created, order):
        """The ticket's status changes as [(moment, status)], the first at `created`, whether it was put on hold,
        and when its handling (re)started; its whole life, also past now (iter_tickets keeps what happened by then)."""
        moment, events, on_hold = created, [], False
        if random_() < _DRAFTED_FIRST:
            events.append((moment, "draft"))
            moment += lasting(_DRAFTED)
        events.append((moment, "active"))
        handling = lasting(_HANDLING[order])
        roll = random_()
        if roll < _WAITS[order] + _HOLDS[order]:  # the clock stops half-way through the handling
            on_hold = roll >= _WAITS[order]
            part = int(handling * random_())
            events.append((moment + part, "draft"))
            moment += part + lasting(_HOLD if on_hold else _WAIT)
            events.append((moment, "active"))
            handling -= part
        resumed = moment
        moment += handling
        events.append((moment, "archived" if random_() < _CLOSED_BY_ARCHIVING else "closed"))
        if random_() < _REOPENS:
            moment += lasting(_REOPENED_AFTER)
            events.append((moment, "active"))
            moment += lasting(_HANDLING[order]) // 2 + 1
            events.append((moment, "closed"))
        if events[-1][1] == "closed" and random_() < _ARCHIVES:
            events.append((moment + lasting(_ARCHIVED_AFTER), "archived"))
        return events, on_hold, resumed

    for ticket_id in range(1, count + 1):
        # Arrivals over the lead-in and the window at one level rate
        hour = bisect.bisect(arrivals, random_() * arrivals_total)
        created = span_start + hour * _HOUR + int(random_() * _HOUR)
        priority = None if random_() < 0.05 else pick(PRIORITIES)
        events, on_hold, resumed = life(created, priority["order"] if priority else None)

        # Status history: what happened up to now, the first entry at created_at.
        path = [status for at, status in events if at <= now_us]
        stamps = [iso(at) for at, _ in events[:len(path)]]
        status, moment = path[-1], events[len(path) - 1][0]
        created_at = stamps[0]
        updated = moment + min(int(-_log(1.0 - random_()) * update_gap) + 1, now_us - moment)

        subject = pick(_SUBJECTS)
        if random_() < 0.05:
            description = pick(long_texts)
            name = subject + " — « 紧急 » 🚨 <b>\"help\"</b>\n(follow-up)" if random_() < 0.5 else subject
        else:
            description = short_bodies[(pick(_SHORT_BODIES), subject)]
            name = subject

        due_date = None
        if random_() < (_DUE_SHARE_ON_HOLD if on_hold else _DUE_SHARE):
            low, high = _DUE_DAYS[priority["order"] if priority else None]
            since = resumed if random_() < _DUE_MOVED else created
            due_date = _iso_midnight((since // _DAY + between(low, high + 1)) * _DAY)

        assigned = None if random_() < 0.08 else dict(pick(AGENTS))
        person = None if random_() < 0.10 else dict(pick(persons))
        company = None if random_() < 0.30 else dict(pick(companies))
        priority = dict(priority) if priority else None

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
