"""The marts build before (the home-made DuckDB runner of commit b962017) and after (the dbt project run
by dlt's dbt runner), side by side on the same synthetic raw tables at 100,000 and 1,000,000 tickets.

    python -m benchmarks.marts_build [--tickets 100000 1000000] [--runs 3]

Each run is a fresh process on a fresh copy of the raw tables; the two alternate round by round.
Peak RSS is the largest sum of the resident memory of the run's process and its children (dbt runs in
a child), sampled every 50 ms, or the kernel's ru_maxrss when larger. `make bench` runs this too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
BEFORE_COMMIT = "b962017"
AS_OF = datetime(2024, 6, 30, 12, tzinfo=timezone.utc)
LIMITS = {"after_x_before_1m": 1.5, "after_rss_1m_mb": 1024.0}


def build_once(which: str, data_dir: Path) -> dict:
    """In the child: one build and its Parquet marts on ``data_dir/tickets.duckdb``; its wall time in seconds."""
    started = time.perf_counter()
    if which == "before":
        sys.path.insert(0, os.environ["USERCOM_BENCH_OLD_TREE"])
        from transforms.runner import build  # the old tree's, which also wrote the Parquet marts

        build(data_dir / "tickets.duckdb", as_of=AS_OF)
    else:
        import duckdb

        from pipelines.load import make_pipeline
        from pipelines.parquet_publish import publish_parquet
        from transforms.build import build_marts
        from transforms.catalog import mart_names

        build_marts(make_pipeline(data_dir), as_of=AS_OF)
        with duckdb.connect(str(data_dir / "tickets.duckdb"), read_only=True) as con:
            publish_parquet(con, mart_names(), data_dir / "marts", "analytics")
    return {"seconds": time.perf_counter() - started}


def measure(which: str, template: Path, work: Path, old_tree: Path) -> dict:
    """One build in a fresh process on a fresh copy of ``template``: seconds and peak RSS (MB) of the process tree."""
    data_dir = work / which
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    shutil.copyfile(template, data_dir / "tickets.duckdb")
    env = dict(os.environ)
    if which == "before":
        env["USERCOM_BENCH_OLD_TREE"] = str(old_tree)
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.marts_build", "--child", which, str(data_dir)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = _sample_tree_rss(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{which} build failed: {err.decode(errors='replace')[-2000:]}")
    result = orjson.loads(out.decode().strip().splitlines()[-1])
    return {"seconds": result["seconds"], "rss_mb": max(peak(), usage.ru_maxrss / 1024)}


def _sample_tree_rss(pid: int):
    peak = [0.0]
    root = psutil.Process(pid)

    def sample() -> None:
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            try:
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                total = 0
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return lambda: (thread.join(timeout=1), peak[0])[1]


def old_runner_tree(work: Path) -> Path:
    """The transforms of commit b962017 (today's runner before this change), unpacked from git."""
    tree = work / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", BEFORE_COMMIT, "transforms"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def compare(sizes: list[int], runs: int) -> dict:
    """Alternating before/after runs per size; medians and the issue's targets."""
    from benchmarks.synthetic_raw import write_synthetic_raw_tables

    work = Path(tempfile.mkdtemp(prefix="usercom-marts-bench-"))
    figures: dict = {}
    try:
        old_tree = old_runner_tree(work)
        for tickets in sizes:
            template = work / f"raw-{tickets}.duckdb"
            write_synthetic_raw_tables(template, tickets)
            measured: dict[str, list[dict]] = {"before": [], "after": []}
            for round_number in range(runs):
                order = ("before", "after") if round_number % 2 == 0 else ("after", "before")
                for which in order:
                    measured[which].append(measure(which, template, work / "runs", old_tree))
                    print(f"[{time.strftime('%H:%M:%S')}] {tickets:,} tickets, {which}: "
                          f"{measured[which][-1]['seconds']:.1f} s, {measured[which][-1]['rss_mb']:.0f} MB", file=sys.stderr)
            figures[tickets] = {which: {"seconds": statistics.median(r["seconds"] for r in results),
                                        "rss_mb": statistics.median(r["rss_mb"] for r in results), "runs": results}
                                for which, results in measured.items()}
            template.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def render(figures: dict) -> str:
    """The before/after table and the targets at 1,000,000 tickets."""
    lines = [f"{'marts build (DuckDB)':<28}{'before s':>10}{'after s':>10}{'after/before':>14}{'before RSS':>12}"
             f"{'after RSS':>11}"]
    for tickets, f in figures.items():
        lines.append(f"{f'{tickets:,} tickets':<28}{f['before']['seconds']:>10.1f}{f['after']['seconds']:>10.1f}"
                     f"{f['after']['seconds'] / f['before']['seconds']:>13.2f}x{f['before']['rss_mb']:>10.0f}MB"
                     f"{f['after']['rss_mb']:>9.0f}MB")
    big = figures.get(1_000_000)
    if big:
        ratio, rss = big["after"]["seconds"] / big["before"]["seconds"], big["after"]["rss_mb"]
        lines.append(f"  after / before at 1M: {ratio:.2f} (target <= {LIMITS['after_x_before_1m']}) "
                     f"{'holds' if ratio <= LIMITS['after_x_before_1m'] else 'MISSED'}")
        lines.append(f"  after peak RSS at 1M: {rss:.0f} MB (target <= {LIMITS['after_rss_1m_mb']:.0f}) "
                     f"{'holds' if rss <= LIMITS['after_rss_1m_mb'] else 'MISSED'}")
    lines.append(f"before: transforms.runner.build of {BEFORE_COMMIT}; after: transforms.build.build_marts (dbt build, "
                 "data tests included), both with the Parquet marts; medians; RSS: the process and its children")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: the comparison (default), or one build in a child process (--child)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.marts_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(orjson.dumps(build_once(args.child[0], Path(args.child[1]))).decode())
        return 0
    figures = compare(args.tickets, args.runs)
    print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
