"""The sandbox in its own process, so serving pages never competes with a contender for the GIL.

`python -m benchmarks.sandbox_proc --tickets N [--latency-ms X] [--requests-per-second R --retry-after S]`
prints one JSON line with `base_url` once it listens, then answers each line read on stdin: `stats` prints
the request counters and the process's CPU seconds as JSON, `reset` zeroes them, `quit` (or EOF) stops.
With `--requests-per-second`, at most R requests in any 1 s window are answered; the others get 429 with
`Retry-After: S`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import orjson

from pipelines.sandbox import SandboxOptions, SandboxServer


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_proc")
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests-per-second", type=float, default=0.0,
                        help="at most this many requests in any 1 s window, 429 beyond (0: no limit)")
    parser.add_argument("--retry-after", default="0", help="the Retry-After header of a 429")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    options = SandboxOptions(tickets=args.tickets, latency_ms=args.latency_ms, seed=args.seed,
                             requests_per_second=args.requests_per_second, retry_after=args.retry_after)
    server = SandboxServer(options).start()
    print(orjson.dumps({"base_url": server.base_url, "generate_seconds": time.perf_counter() - started}).decode(), flush=True)
    cpu0 = _cpu()
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                stats = dict(server.stats, cpu_seconds=_cpu() - cpu0,
                             max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
                print(orjson.dumps(stats).decode(), flush=True)
            elif command == "reset":
                for key in server.stats:
                    server.stats[key] = 0
                server.request_log.clear()  # the log grows by one dict a request; benchmarks never read it
                cpu0 = _cpu()
                print("{}", flush=True)
            elif command == "quit":
                break
    finally:
        server.stop()


if __name__ == "__main__":
    main()
