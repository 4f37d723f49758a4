"""Command line: `python -m pipelines.sandbox --tickets N --port P [--seed S] [--latency-ms X]`."""

from __future__ import annotations

import argparse

from .server import SandboxOptions, serve


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve the sandbox until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sandbox",
        description="Serve generated User.com tickets on 127.0.0.1 (GET /api/public/tickets/).",
    )
    parser.add_argument("--tickets", type=int, default=1000, help="number of generated tickets (default 1000)")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765, 0 = any free)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the generated data (default 42)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer, in ms")
    parser.add_argument("--page-size", type=int, default=100, help="tickets per page (default 100)")
    args = parser.parse_args(argv)
    if args.tickets < 0 or args.page_size < 1:
        parser.error("--tickets must be >= 0 and --page-size >= 1")
    options = SandboxOptions(
        tickets=args.tickets, seed=args.seed, latency_ms=args.latency_ms, page_size=args.page_size
    )
    serve(options, port=args.port)


if __name__ == "__main__":
    main()
