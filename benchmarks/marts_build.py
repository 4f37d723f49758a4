"""The marts build of a base commit (today's main before the change measured: BASE_COMMIT, or ``--base``)
and of this tree, side by side on the same synthetic raw tables at 5,000, 100,000 and 1,000,000 tickets.

    python -m benchmarks.marts_build [--tickets 5000 100000 1000000] [--runs 3] [--base REV | --base DIR]
                                     [--policy FILE | --business-hours]

Each run is a fresh process on a fresh copy of the raw tables; base and after alternate round by round.
Both are a repeat build, as a nightly run makes: the pipeline's folder (dbt's saved parse among it) is
kept from the build before; the first build of each size, which parses the whole dbt project, is
reported beside it. A build is ``transforms.build.build_marts`` and the Parquet marts, timed in the
child from before its first import of ``pipelines`` and ``transforms`` (so dlt's and dbt's imports
count; the interpreter's start does not). "base" runs the base commit's ``pipelines`` and ``transforms``
(unpacked with ``git archive``) with this virtualenv. CPU is the process's and its children's user +
system time. Peak RSS is the largest sum of the resident memory of the run's process and its children
(the base runs dbt in a child), sampled every 50 ms, or the kernel's ru_maxrss when larger. Other load
is the CPU time other processes used during a run, in cores. `make bench` runs this too.

The builds use the packaged SLA policy (the calendar clock, no business-hours schedule), or
``--policy FILE``; ``--business-hours`` is the packaged policy with a Monday-to-Friday 09:00-17:00
schedule in Europe/Warsaw and a few holidays, on the business clock (``business_hours_policy``).
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
BASE_COMMIT = "f40157c"  # main before issue 20's runner work (dbt in a child process through dlt's runner)
AS_OF = datetime(2024, 6, 30, 12, tzinfo=timezone.utc)
SIZES = [5_000, 100_000, 1_000_000]
# issue 20, part 8: seconds at 5,000 and 100,000 tickets, after / base and peak RSS (MB) at 1,000,000
TARGETS = {5_000: ("seconds", 8.0), 100_000: ("seconds", 12.0), 1_000_000: ("x_base", 1.25)}
RSS_LIMIT_1M_MB = 1024.0
ROUNDS = ("base", "after")  # measured round by round, in a rotating order
POLICY_ENV = "USERCOM_BENCH_POLICY"
BASE_TREE_ENV = "USERCOM_BENCH_BASE_TREE"
BUSINESS_HOURS_SCHEDULE = """
[business_hours]
timezone = "Europe/Warsaw"
monday = ["09:00", "17:00"]
tuesday = ["09:00", "17:00"]
wednesday = ["09:00", "17:00"]
thursday = ["09:00", "17:00"]
friday = ["09:00", "17:00"]
holidays = ["2024-05-01", "2024-05-03", "2024-12-25", "2024-12-26"]
"""
LABELS = {"base": "base", "after": "after", "base_first": "base, first build", "after_first": "after, first build"}


def build_once(which: str, data_dir: Path) -> dict:
    """In the child: one build and its Parquet marts on ``data_dir/tickets.duckdb``; its wall time in seconds."""
    started = time.perf_counter()
    if which == "base":
        sys.path.insert(0, os.environ[BASE_TREE_ENV])  # the base commit's pipelines and transforms
    import duckdb

    try:
        from pipelines.job.pipeline import make_pipeline
    except ImportError:  # a base commit from before the job package
        from pipelines.load import make_pipeline
    from pipelines.parquet_publish import publish_parquet
    from transforms.build import build_marts
    from transforms.catalog import mart_names

    build_marts(make_pipeline(data_dir), as_of=AS_OF, policy_path=_policy_path())
    with duckdb.connect(str(data_dir / "tickets.duckdb"), read_only=True) as con:
        publish_parquet(con, mart_names(), data_dir / "marts", "analytics")
    return {"seconds": time.perf_counter() - started}


def business_hours_policy() -> str:
    """The packaged SLA policy on the business clock, with ``BUSINESS_HOURS_SCHEDULE``."""
    from transforms.policy import DEFAULT_POLICY_PATH

    packaged = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert 'sla_clock = "calendar"' in packaged
    return packaged.replace('sla_clock = "calendar"', 'sla_clock = "business"') + BUSINESS_HOURS_SCHEDULE


def _policy_path() -> Path | None:
    """The SLA policy file the after builds use (``--policy``), None for the packaged one."""
    return Path(os.environ[POLICY_ENV]) if os.environ.get(POLICY_ENV) else None


def measure(which: str, template: Path, work: Path, base_tree: Path, *, first: bool = False) -> dict:
    """One build in a fresh process on a fresh copy of ``template``: seconds, CPU seconds, peak RSS (MB) of the
    process tree and other load (cores). The pipeline's folder of the previous build stays unless ``first``."""
    data_dir = work / which
    if first:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    for leftover in data_dir.iterdir():
        if leftover.name != ".dlt":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(template, data_dir / "tickets.duckdb")
    env = {**os.environ, BASE_TREE_ENV: str(base_tree)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # files: a pipe could fill and block
        busy = _busy_seconds()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.marts_build", "--child", which, str(data_dir)],
                                   cwd=ROOT, env=env, stdout=out, stderr=err)
        peak = _sample_tree_rss(process.pid)
        _, status, usage = os.wait4(process.pid, 0)  # its rusage includes the children it waited for (dbt's)
        wall = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        other = max(0.0, _busy_seconds() - busy - cpu) / wall
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{which} build failed: {err.read().decode(errors='replace')[-2000:]}")
        result = orjson.loads(out.read().decode().strip().splitlines()[-1])
    return {"seconds": result["seconds"], "cpu_seconds": cpu, "rss_mb": max(peak(), usage.ru_maxrss / 1024),
            "other_cores": other}


def _busy_seconds() -> float:
    """CPU time the whole machine has spent busy, in seconds (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


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


def base_tree(work: Path, base: str) -> Path:
    """The ``pipelines`` and ``transforms`` of commit ``base``, unpacked from git; ``base`` a checkout's folder
    (``/work/wt-base``): that folder."""
    if (Path(base) / "transforms").is_dir():
        return Path(base).resolve()
    tree = work / "base"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", base, "pipelines", "transforms"], cwd=ROOT, capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def compare(sizes: list[int], runs: int, base: str = BASE_COMMIT) -> dict:
    """Per size: the first build of each variant, then alternating rounds; medians and the issue's targets."""
    from benchmarks.synthetic_raw import write_synthetic_raw_tables

    work = Path(tempfile.mkdtemp(prefix="usercom-marts-bench-"))
    figures: dict = {"base_commit": base, "sizes": {}}
    try:
        tree = base_tree(work, base)
        for tickets in sizes:
            template = work / f"raw-{tickets}.duckdb"
            write_synthetic_raw_tables(template, tickets)
            measured: dict[str, list[dict]] = {which: [] for which in ROUNDS}
            first = {}
            for which in ROUNDS:
                first[which] = measure(which, template, work / "runs", tree, first=True)
                _log(tickets, f"{which}, first build", first[which])
            for round_number in range(runs):
                shift = round_number % len(ROUNDS)
                for which in ROUNDS[shift:] + ROUNDS[:shift]:
                    measured[which].append(measure(which, template, work / "runs", tree))
                    _log(tickets, which, measured[which][-1])
            size = {which: _summary(results) for which, results in measured.items()}
            size.update({f"{which}_first": _summary([first[which]]) for which in ROUNDS})
            figures["sizes"][tickets] = size
            template.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _summary(results: list[dict]) -> dict:
    return {"seconds": statistics.median(r["seconds"] for r in results),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
            "rss_mb": statistics.median(r["rss_mb"] for r in results),
            "other_cores": max(r["other_cores"] for r in results), "runs": results}


def _log(tickets: int, which: str, result: dict) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {tickets:,} tickets, {which}: {result['seconds']:.1f} s, "
          f"{result['cpu_seconds']:.1f} s CPU, {result['rss_mb']:.0f} MB, other load {result['other_cores']:.1f} cores",
          file=sys.stderr)


def target_lines(figures: dict) -> list[str]:
    """The issue's targets, each with the figure measured in this run and whether it holds."""
    lines = []
    for tickets, (kind, limit) in TARGETS.items():
        f = figures["sizes"].get(tickets)
        if not f:
            continue
        if kind == "seconds":
            value, label = f["after"]["seconds"], f"after at {tickets:,} tickets (s)"
        else:
            value, label = f["after"]["seconds"] / f["base"]["seconds"], f"after / base at {tickets:,} tickets"
        lines.append(f"  {label:<36}{value:>7.2f}  (target <= {limit:g})  {'holds' if value <= limit else 'MISSED'}")
    big = figures["sizes"].get(1_000_000)
    if big:
        rss = big["after"]["rss_mb"]
        lines.append(f"  {'after peak RSS at 1,000,000 (MB)':<36}{rss:>7.0f}  (target <= {RSS_LIMIT_1M_MB:g})  "
                     f"{'holds' if rss <= RSS_LIMIT_1M_MB else 'MISSED'}")
    return lines


def render(figures: dict) -> str:
    """The base/after table (repeat and first builds) and the targets."""
    lines = [f"{'marts build (DuckDB)':<20}{'':<22}{'s':>7}{'x base':>8}{'CPU s':>8}{'x base':>8}{'peak RSS':>10}"
             f"{'other load':>12}"]
    for tickets, f in figures["sizes"].items():
        for which in ("base", "after", "base_first", "after_first"):
            row, base = f[which], f["base_first" if which.endswith("_first") else "base"]
            ratio = "" if which.startswith("base") else f"{row['seconds'] / base['seconds']:.2f}x"
            cpu_ratio = "" if which.startswith("base") else f"{row['cpu_seconds'] / base['cpu_seconds']:.2f}x"
            lines.append(f"{f'{tickets:,} tickets':<20}{LABELS[which]:<22}{row['seconds']:>7.1f}{ratio:>8}"
                         f"{row['cpu_seconds']:>8.1f}{cpu_ratio:>8}{row['rss_mb']:>8.0f}MB{row['other_cores']:>10.1f}c")
    lines += target_lines(figures)
    lines.append(f"base: build_marts of {figures['base_commit']}; after: "
                 "this tree's; both repeating a build in the same folder (first build: a full dbt parse), with the "
                 "Parquet marts and their imports; medians; CPU: the build's processes; RSS: the process and its "
                 "children; other load: cores other processes used (max over runs)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: the comparison (default), or one build in a child process (--child)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.marts_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=SIZES)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", default=BASE_COMMIT,
                        help=f"the commit (or a checkout's folder) to compare with (default {BASE_COMMIT})")
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--policy", type=Path, help="SLA policy file for the builds (default: the packaged one)")
    policy.add_argument("--business-hours", action="store_true",
                        help="the builds on the business clock (a Europe/Warsaw 09:00-17:00 schedule)")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(orjson.dumps(build_once(args.child[0], Path(args.child[1]))).decode())
        return 0
    with tempfile.TemporaryDirectory(prefix="usercom-bench-policy-") as scratch:
        if args.business_hours:
            args.policy = Path(scratch) / "sla_policy.toml"
            args.policy.write_text(business_hours_policy(), encoding="utf-8")
        if args.policy:
            os.environ[POLICY_ENV] = str(args.policy.resolve())  # the child processes inherit it
        figures = compare(args.tickets, args.runs, args.base)
    print(render(figures))
    if args.policy:
        print(f"builds with the SLA policy {'with business hours' if args.business_hours else args.policy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
