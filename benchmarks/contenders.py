"""One benchmark contender, run in its own process so its peak RSS is its own.

`python -m benchmarks.contenders NAME --base-url URL --data-dir DIR` does the work once and prints one
JSON line: `seconds` (wall time of the work itself, imports and interpreter start excluded), `tickets`
(rows it produced or parsed) and `pages`. The parent reads the process's peak RSS with `os.wait4`.

Contenders:
  floor              fetch every page of every status + orjson.loads, nothing else
  usercom            this project: `pipelines.job.run_job` (no marts) into a fresh data directory
  usercom_rerun      `run_job` again on a directory already loaded (nothing changed)
  usercom_rows       `run_job` with `columnar=False`: every page parsed to JSON and flattened row by row
  rest_api_defaults  dlt's generic `rest_api` source, all defaults (insert-values into DuckDB)
  rest_api_parquet   the same with `loader_file_format="parquet"`
  chain              one status listing alone, fetched + orjson.loads (the latency check's yardstick)
  raw                every page fetched without parsing (the sandbox's own serving rate)
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

STATUSES = ("active", "closed", "archived", "draft")


def _key() -> str:
    # from the bench (`contender_env`): importing `pipelines` here would change the Arrow allocator of every contender
    if "USERCOM_BENCH_SANDBOX_KEY" in os.environ:
        return os.environ["USERCOM_BENCH_SANDBOX_KEY"]
    from pipelines.sandbox import SANDBOX_API_KEY

    return SANDBOX_API_KEY


def floor(base_url: str, statuses=STATUSES) -> dict:
    """The least any loader must do: GET every page (keep-alive session) and parse it."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {_key()}"
    tickets = pages = 0
    started = time.perf_counter()
    for status in statuses:
        url = f"{base_url}tickets/?status={status}"
        while url:
            doc = orjson.loads(session.get(url, timeout=60).content)
            tickets += len(doc["results"])
            pages += 1
            url = doc["next"]
    return {"seconds": time.perf_counter() - started, "tickets": tickets, "pages": pages}


_NEXT = re.compile(rb'"next":(null|"([^"]*)")')


def raw(base_url: str) -> dict:
    """Every page over one keep-alive http.client connection, `next` cut out of the head, no JSON parse."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Authorization": f"Token {_key()}"}
    pages = size = 0
    started = time.perf_counter()
    for status in STATUSES:
        path = f"{parts.path}tickets/?status={status}"
        while path:
            conn.request("GET", path, headers=headers)
            body = conn.getresponse().read()
            pages += 1
            size += len(body)
            match = _NEXT.search(body, 0, 2048)
            nxt = match.group(2) if match else None
            path = urlsplit(nxt.decode()).path + "?" + urlsplit(nxt.decode()).query if nxt else None
    return {"seconds": time.perf_counter() - started, "tickets": 0, "pages": pages, "bytes": size}


def usercom(base_url: str, data_dir: Path, columnar: bool = True) -> dict:
    from pipelines.job import run_job
    from pipelines.run_setup import use_system_allocator

    use_system_allocator()  # as a run starts; then the source's modules load before the clock, as other imports do
    import pipelines.usercom.source  # noqa: F401

    started = time.perf_counter()
    overrides = {"api_key": _key(), "base_url": base_url, "columnar": columnar}
    summary = run_job(data_dir, transform=False, source_overrides=overrides).summary
    seconds = time.perf_counter() - started
    listings = summary.report.listings.values()
    return {
        "seconds": seconds,
        "steps": _steps(),
        "tickets": summary.tickets_after,
        "loaded": sum(x.kept for x in listings),
        "unchanged": sum(x.skipped_unchanged for x in listings),
        "received": sum(x.received for x in listings),
        "pages": sum(x.pages for x in listings),
        "rejected": summary.rejected,
        "pages_row_by_row": sum(x.pages_row_by_row for x in listings),
    }


def _steps() -> dict:
    """Wall seconds of each dlt step of the last run (extract, normalize, load), from dlt's trace."""
    import dlt

    try:
        trace = dlt.current.pipeline().last_trace
        return {s.step: round((s.finished_at - s.started_at).total_seconds(), 3) for s in trace.steps}
    except Exception:  # no trace: the breakdown is optional
        return {}


def rest_api(base_url: str, data_dir: Path, parquet: bool) -> dict:
    """dlt's generic REST source configured honestly for this API, merged on id like ours."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source({
        "client": {
            "base_url": base_url,
            "headers": {"Authorization": f"Token {_key()}"},
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"data_selector": "results"},
        },
        "resources": [
            {"name": f"tickets_{status}", "table_name": "tickets",
             "endpoint": {"path": "tickets/", "params": {"status": status}}}
            for status in STATUSES
        ],
    })
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name="rest_api_bench", pipelines_dir=str(data_dir / ".dlt"),
        destination=dlt.destinations.duckdb(str(data_dir / "rest_api.duckdb")), dataset_name="usercom",
    )
    info = pipeline.run(source, loader_file_format="parquet") if parquet else pipeline.run(source)
    info.raise_on_failed_jobs()
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        tickets = client.execute_sql("SELECT count(*) FROM tickets")[0][0]
    return {"seconds": seconds, "tickets": int(tickets), "steps": _steps()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.contenders")
    parser.add_argument("name")
    parser.add_argument("--base-url", default="")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--status", default="")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else None
    if args.name == "floor":
        result = floor(args.base_url)
    elif args.name == "chain":
        result = floor(args.base_url, (args.status,))
    elif args.name == "raw":
        result = raw(args.base_url)
    elif args.name in ("usercom", "usercom_rerun"):
        result = usercom(args.base_url, data_dir)
    elif args.name == "usercom_rows":
        result = usercom(args.base_url, data_dir, columnar=False)
    elif args.name in ("rest_api_defaults", "rest_api_parquet"):
        result = rest_api(args.base_url, data_dir, parquet=args.name == "rest_api_parquet")
    else:
        parser.error(f"unknown contender {args.name}")
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
