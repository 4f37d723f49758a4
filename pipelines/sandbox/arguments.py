"""The sandbox's command-line options, shared by `python -m pipelines.sandbox` and `usercom-tickets sandbox`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from .generate import DEFAULT_NOW
from .server import SandboxOptions


def add_sandbox_arguments(parser: argparse.ArgumentParser, default_tickets: int,
                          default_now: datetime = DEFAULT_NOW) -> None:
    """Adds the data, speed and misbehaviour options of the sandbox to `parser`; the generated history ends at
    `default_now` unless --now says otherwise."""
    parser.add_argument("--tickets", type=int, default=default_tickets, help=f"generated tickets (default {default_tickets})")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the generated data (default 42)")
    parser.add_argument("--now", type=iso_timestamp, default=default_now, metavar="TIMESTAMP",
                        help="the moment the generated history ends, ISO 8601 (default "
                             f"{default_now.isoformat().replace('+00:00', 'Z')}); with the seed it fixes every byte")
    parser.add_argument("--page-size", type=int, default=100, help="tickets per page (default 100)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer, in ms")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve https with this certificate and key")
    quirks = parser.add_argument_group("behaviours reported of the real API (docs/sandbox.md, 'Quirks of the real API')")
    quirks.add_argument("--requests-per-second", type=float, default=0.0, metavar="N",
                        help="allow N requests in any 1 s window, answer 429 beyond (default: no limit)")
    quirks.add_argument("--retry-after", default="1", help="Retry-After of those 429 answers (default 1)")
    quirks.add_argument("--unauthorized-burst", type=int, default=0, metavar="N",
                        help="more than N requests within 1 s open a short 401 window (default: never)")
    quirks.add_argument("--unauthorized-seconds", type=float, default=0.5, help="length of that 401 window (default 0.5)")
    quirks.add_argument("--dangling-last-next", action="store_true",
                        help="the last page's `next` is a link, and it answers 404")
    quirks.add_argument("--next-over-http", action="store_true",
                        help="`next` links say http:// on the same host (use with --tls)")
    quirks.add_argument("--ignore-status-filter", action="store_true",
                        help="accept the status filter and ignore it: every listing returns every ticket")
    quirks.add_argument("--entered-at-offsets", action="store_true",
                        help="status_history[].entered_at with +00:00 instead of Z")


def sandbox_options(args: argparse.Namespace) -> SandboxOptions:
    """The `SandboxOptions` the parsed arguments ask for; raises ValueError naming a value out of range."""
    if args.tickets < 0 or args.page_size < 1:
        raise ValueError("--tickets must be >= 0 and --page-size >= 1")
    return SandboxOptions(
        tickets=args.tickets, seed=args.seed, now=args.now, page_size=args.page_size, latency_ms=args.latency_ms,
        tls=tuple(args.tls) if args.tls else None, requests_per_second=args.requests_per_second,
        retry_after=args.retry_after, unauthorized_burst=args.unauthorized_burst,
        unauthorized_seconds=args.unauthorized_seconds, dangling_last_next=args.dangling_last_next,
        next_over_http=args.next_over_http, ignore_status_filter=args.ignore_status_filter,
        entered_at_offsets=args.entered_at_offsets,
    )


def start_of_today() -> datetime:
    """Midnight UTC of today: `usercom-tickets sandbox`'s history ends there, so a run's as_of (now) fits it."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def iso_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp argument (UTC when it names no offset); argparse's error names the form wanted."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 timestamp, e.g. 2024-06-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
