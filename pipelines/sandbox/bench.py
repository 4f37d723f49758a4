"""Measure the sandbox: `python -m pipelines.sandbox.bench [--tickets 100000] [--passes 2]`.

Starts `python -m pipelines.sandbox` in its own process (so client and server
do not share a GIL), then walks every page of every listing (all tickets, then
each status) with one `requests.Session`, the way the pipeline does. Prints:

- sandbox start-up time (generation + encoding of the rows);
- pages/s following `next` and parsing each page with orjson (the realistic client);
- pages/s fetching the same page URLs without parsing (what the server sustains
  for one requests client whose own JSON work is taken out);
- the server's CPU time per page (from /proc, Linux), i.e. its own ceiling;
- generation time of `generate_tickets(N)` in this process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import orjson
import requests

from .generate import STATUSES, generate_tickets
from .server import SANDBOX_API_KEY


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, or None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _walk(session: requests.Session, base_url: str) -> list[str]:
    """Follow `next` through every listing, parsing each page; return every page URL."""
    urls = []
    for status in (None, *STATUSES):
        url = base_url + "tickets/" + (f"?status={status}" if status else "")
        while url:
            urls.append(url)
            response = session.get(url)
            response.raise_for_status()
            url = orjson.loads(response.content)["next"]
    return urls


def _fetch(session: requests.Session, urls: list[str]) -> None:
    """GET every URL and read its body, without parsing it."""
    for url in urls:
        response = session.get(url)
        response.raise_for_status()
        response.content  # noqa: B018 (reading the body is the point)


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and print one line each."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.sandbox.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=2, help="passes of each client mode (best is shown)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.sandbox", "--tickets", str(args.tickets), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        base_url = line.split(" on ", 1)[1].split(" ", 1)[0]
        print(f"sandbox start-up with {args.tickets} tickets: {time.perf_counter() - started:.2f} s", flush=True)
        session = requests.Session()
        session.trust_env = False  # no proxy lookups from the environment on every request
        session.headers.update({"Authorization": f"Token {SANDBOX_API_KEY}", "Accept": "*/*; version=2"})
        urls: list[str] = []
        for label, run in (("follow next + orjson parse", None), ("fetch only (same URLs)", _fetch)):
            best = 0.0
            for _ in range(args.passes):
                cpu, clock = _cpu_seconds(server.pid), time.perf_counter()
                if run is None:
                    urls = _walk(session, base_url)
                else:
                    run(session, urls)
                elapsed, server_cpu = time.perf_counter() - clock, _cpu_seconds(server.pid)
                best = max(best, len(urls) / elapsed)
                cost = f", server CPU {(server_cpu - cpu) / len(urls) * 1000:.2f} ms/page" if cpu is not None else ""
                print(f"  {label}: {len(urls)} pages in {elapsed:.2f} s = {len(urls) / elapsed:,.0f} pages/s{cost}")
            print(f"{label}: best {best:,.0f} pages/s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)

    # Last, so the client above runs in a fresh process (a big freed heap slows it down).
    started = time.perf_counter()
    generate_tickets(args.tickets)
    print(f"generate_tickets({args.tickets}): {time.perf_counter() - started:.2f} s", flush=True)


if __name__ == "__main__":
    main()
