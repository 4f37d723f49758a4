"""Soak: many tickets through a misbehaving sandbox, then proof that every ticket landed exactly once.

    python -m benchmarks.soak                     # 1,000,000 tickets (`make soak`)
    python -m benchmarks.soak --tickets 100000    # smaller

The sandbox runs in its own process with latency, a share of 5xx answers and periodic 429s; the
pipeline runs here, as `run_job` does it every night. Afterwards DuckDB must hold each generated
ticket once (ids 1..N) and exactly as many child rows as the generator made. Prints tickets, retries,
wall time and peak RSS of both processes; exits 1 when a check fails. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.job import run_job
from pipelines.job.pipeline import DUCKDB_FILE
from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.sandbox.generate import iter_tickets

_SANDBOX = """
import json, resource, sys
from pipelines.sandbox import SandboxOptions, SandboxServer
options = SandboxOptions(**json.loads(sys.argv[1]))
server = SandboxServer(options).start()
print(json.dumps({"base_url": server.base_url}), flush=True)
sys.stdin.readline()
server.request_log.clear()
print(json.dumps(dict(server.stats, max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)), flush=True)
server.stop()
"""

CHILD_TABLES = {"segments": "tickets__segments", "participants": "tickets__participants",
                "attachments": "tickets__attachments", "status_history": "tickets__status_history"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=2.0, help="delay before each answer (default 2)")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of 500/502/503/504 answers (default 0.05)")
    parser.add_argument("--rate-limit-every", type=int, default=50, help="every Nth request answers 429 (default 50)")
    parser.add_argument("--retry-after", default="1", help="Retry-After of those 429s (default 1 s)")
    parser.add_argument("--data-dir", help="where to load (default: a temporary directory, removed afterwards)")
    args = parser.parse_args(argv)

    options = {"tickets": args.tickets, "latency_ms": args.latency_ms, "error_rate": args.error_rate,
               "rate_limit_every": args.rate_limit_every, "retry_after": args.retry_after}
    print(f"soak: {args.tickets:,} tickets, latency {args.latency_ms} ms, {args.error_rate:.0%} 5xx, "
          f"429 every {args.rate_limit_every} requests (Retry-After {args.retry_after})", flush=True)
    sandbox = subprocess.Popen([sys.executable, "-c", _SANDBOX, json.dumps(options)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    temporary = None if args.data_dir else tempfile.TemporaryDirectory(prefix="usercom-soak-")
    directory = Path(args.data_dir or temporary.name).resolve()
    try:
        base_url = json.loads(sandbox.stdout.readline())["base_url"]
        started = time.perf_counter()
        summary = run_job(directory, transform=False, full_refresh=True, source_overrides={
            "api_key": SANDBOX_API_KEY, "base_url": base_url, "max_attempts": 12, "backoff_base_seconds": 0.05,
            "max_total_wait_seconds": 120.0}).summary
        seconds = time.perf_counter() - started
        sandbox.stdin.write("stats\n")
        sandbox.stdin.flush()
        server = json.loads(sandbox.stdout.readline())
        failures = verify(directory / DUCKDB_FILE, args.tickets)
    finally:
        if sandbox.poll() is None:
            sandbox.stdin.close()
            sandbox.wait(timeout=60)
        if temporary:
            temporary.cleanup()
    retries = sum(x.retries for x in summary.report.listings.values())
    pipeline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tickets    {summary.tickets_after:,} loaded ({args.tickets:,} served)")
    print(f"retries    {retries:,} (server answered {server['rate_limited']:,} × 429 and {server['server_errors']:,} × 5xx "
          f"over {server['requests']:,} requests)")
    print(f"wall time  {seconds:,.1f} s ({args.tickets / seconds:,.0f} tickets/s)")
    print(f"peak RSS   pipeline {pipeline_rss:,.0f} MB, sandbox {server['max_rss_mb']:,.0f} MB")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("every ticket landed exactly once" if not failures else "soak FAILED")
    return 1 if failures else 0


def verify(database: Path, tickets: int) -> list[str]:
    """What is wrong with the loaded data: tickets 1..N each once, child rows as many as generated, none twice."""
    expected = dict.fromkeys(CHILD_TABLES.values(), 0)
    for ticket in iter_tickets(tickets):
        for field, table in CHILD_TABLES.items():
            expected[table] += len(ticket.get(field) or [])
    failures = []
    with duckdb.connect(str(database), read_only=True) as con:
        count, distinct, low, high = con.execute(
            "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM usercom.tickets").fetchone()
        if (count, distinct, low, high) != (tickets, tickets, 1, tickets):
            failures.append(f"tickets: {count} rows, {distinct} distinct ids in {low}..{high}; want {tickets} once each")
        for table, want in expected.items():
            rows, keys = con.execute(f"SELECT count(*), count(DISTINCT (ticket_id, position)) FROM usercom.{table}").fetchone()
            if rows != want or keys != rows:
                failures.append(f"{table}: {rows} rows ({keys} distinct keys), want {want}")
        history = con.execute("SELECT count(*), count(DISTINCT (id, updated_at)) FROM usercom.tickets_history").fetchone()
        if history != (tickets, tickets):
            failures.append(f"tickets_history: {history[0]} rows, {history[1]} distinct versions; want {tickets}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
