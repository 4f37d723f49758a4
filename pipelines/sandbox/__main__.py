"""Command line: `python -m pipelines.sandbox --tickets N --port P [options]` (`--help` lists them)."""

from __future__ import annotations

import argparse

from .arguments import add_sandbox_arguments, sandbox_options
from .server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve the sandbox until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sandbox",
        description="Serve generated User.com tickets on 127.0.0.1 (GET /api/public/tickets/).",
    )
    add_sandbox_arguments(parser, default_tickets=1000)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765, 0 = any free)")
    args = parser.parse_args(argv)
    try:
        options = sandbox_options(args)
    except ValueError as error:
        parser.error(str(error))
    serve(options, port=args.port)


if __name__ == "__main__":
    main()
