"""The marts built on Apache Spark (local mode, ``transform --engine spark``) and on DuckDB (the default), side
by side on the same synthetic raw tables at 100,000 and 1,000,000 tickets.

    python -m benchmarks.spark_build [--tickets 100000 1000000]

Each build is a fresh process (``transforms`` imported in it, dbt's parse included) on a fresh copy of the raw
tables, published as readers see it (the Parquet marts and the BI snapshot): DuckDB from ``tickets.duckdb``,
Spark from the raw Parquet files a ``--destination parquet`` run leaves (``parquet/usercom/``). Reported: wall
seconds, CPU seconds of the process tree (Spark's JVM is a child of the Python process: sampled), peak RSS of the tree
(sampled every 50 ms), and where Spark's time goes: the session's start (the JVM, the SparkContext, the raw
tables registered), dbt's build, each model's seconds, and the copy of its marts for the publisher. Other load
is the CPU time other processes used meanwhile, in cores: a busy machine makes both slower, Spark more (its
per-query start-up). `make bench` runs this too (``--no-spark`` skips it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import psutil

from benchmarks.marts_build import AS_OF, ROOT, _busy_seconds, _sample_tree_rss

SIZES = [100_000, 1_000_000]
ENGINES = ("duckdb", "spark")
SLOWEST_MODELS = 6


def measure(engine: str, template: Path, raw_parquet: Path, work: Path) -> dict:
    """One build in a fresh process on a fresh copy of the raw tables: wall, CPU, peak RSS and Spark's phases."""
    data_dir = work / engine
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    shutil.copyfile(template, data_dir / "tickets.duckdb")
    shutil.copytree(raw_parquet, data_dir / "parquet")
    timings = data_dir.parent / f"{engine}-timings.json"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy = _busy_seconds()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.spark_build", "--child", engine, str(data_dir),
                                    str(timings)], cwd=ROOT, stdout=out, stderr=err)
        peak = _sample_tree_rss(process.pid)
        tree_cpu = _sample_tree_cpu(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        cpu = max(usage.ru_utime + usage.ru_stime, tree_cpu())
        other = max(0.0, _busy_seconds() - busy - cpu) / wall
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{engine} build failed: {err.read().decode(errors='replace')[-2000:]}")
        out.seek(0)
        result = orjson.loads(out.read().decode().strip().splitlines()[-1])
    result.update(orjson.loads(timings.read_bytes()))
    result.update({"wall_seconds": wall, "cpu_seconds": cpu, "rss_mb": max(peak(), usage.ru_maxrss / 1024),
                   "other_cores": other})
    return result


def _sample_tree_cpu(pid: int):
    """CPU seconds of ``pid`` and every process under it, sampled every 50 ms: Spark's JVM is not reaped by the
    Python process (it is ended, not waited for), so the kernel's rusage of the child leaves it out."""
    last: dict[int, float] = {}
    root = psutil.Process(pid)

    def sample() -> None:
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            try:
                for process in [root, *root.children(recursive=True)]:
                    times = process.cpu_times()
                    last[process.pid] = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return lambda: (thread.join(timeout=1), sum(last.values()))[1]


def compare(sizes: list[int]) -> dict:
    """Per size: one DuckDB build and one Spark build of the same raw tables."""
    from benchmarks.synthetic_raw import write_synthetic_raw_tables
    from pipelines.job.raw_parquet import publish_raw_parquet

    work = Path(tempfile.mkdtemp(prefix="usercom-spark-bench-"))
    figures: dict = {"sizes": {}}
    try:
        for tickets in sizes:
            raw = work / "raw"
            shutil.rmtree(raw, ignore_errors=True)
            raw.mkdir()
            write_synthetic_raw_tables(raw / "tickets.duckdb", tickets)
            publish_raw_parquet(raw)
            figures["sizes"][tickets] = {}
            for engine in ENGINES:
                figures["sizes"][tickets][engine] = result = measure(engine, raw / "tickets.duckdb", raw / "parquet",
                                                                     work / "runs")
                print(f"  {tickets:>9,} tickets, {engine}: {result['wall_seconds']:.1f} s wall, "
                      f"{result['cpu_seconds']:.1f} s CPU, {result['rss_mb']:.0f} MB peak RSS", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def render(figures: dict) -> str:
    """The side-by-side table, then Spark's phases and slowest models per size."""
    lines = ["marts on Spark (local, pyspark) and on DuckDB, one build each, published as readers see them",
             f"{'tickets':>10}  {'engine':<7}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'other load':>12}"]
    for tickets, engines in figures["sizes"].items():
        for engine, r in engines.items():
            lines.append(f"{int(tickets):>10,}  {engine:<7}{r['wall_seconds']:>8.1f}{r['cpu_seconds']:>8.1f}"
                         f"{r['rss_mb']:>13.0f}{r['other_cores']:>11.1f}c")
    for tickets, engines in figures["sizes"].items():
        spark = engines["spark"]
        slowest = sorted(spark["per_model"].items(), key=lambda item: -item[1])[:SLOWEST_MODELS]
        lines.append(f"Spark at {int(tickets):,}: session start {spark['session_start']:.1f} s, dbt build "
                     f"{spark['dbt_build']:.1f} s (models {sum(spark['per_model'].values()):.1f} s, tests "
                     f"{spark['tests']:.1f} s), marts copy {spark['marts_copy']:.1f} s; slowest: "
                     + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest))
    return "\n".join(lines)


def _child(engine: str, data_dir: Path, timings_path: Path) -> None:
    """In the child: one build on ``engine`` and its publication; its seconds, and Spark's phases to ``timings_path``."""
    started = time.perf_counter()
    from pipelines.job.pipeline import make_pipeline
    from pipelines.job.publish import build_and_publish
    from pipelines.marts_publish import publish_build
    from transforms.spark_build import build_marts_on_spark

    phases: dict = {}
    if engine == "spark":  # build_and_publish's Spark path, with its phases
        _, marts = build_marts_on_spark(make_pipeline(data_dir, "parquet"), data_dir, as_of=AS_OF, timings=phases)
        publish_build(data_dir, marts)
    else:
        build_and_publish(data_dir, "duckdb", AS_OF)
    timings_path.write_bytes(orjson.dumps(phases))
    print(orjson.dumps({"seconds": time.perf_counter() - started}).decode())


def main(argv: list[str] | None = None) -> int:
    """Command line: the comparison at ``--tickets`` (default 100,000 and 1,000,000), printed as a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=SIZES)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA_DIR", "TIMINGS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    print(render(compare(args.tickets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
