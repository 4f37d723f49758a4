"""The marts build before (the home-made DuckDB runner of commit b962017) and after (the dbt project run
by dlt's dbt runner), side by side on the same synthetic raw tables at 100,000 and 1,000,000 tickets.

    python -m benchmarks.marts_build [--tickets 100000 1000000] [--runs 3] [--policy FILE | --business-hours]

Each run is a fresh process on a fresh copy of the raw tables; before and after alternate round by
round. "after" is a repeat build, as a nightly run makes: the pipeline's folder (dbt's saved parse
among it) is kept from the build before; the first build of each size, which parses the whole dbt
project, is reported beside it. "public runner" is the after build through dlt's public runner
methods (`run`, then `test`: two dbt processes) instead of one `dbt build`. Peak RSS is the largest sum
of the resident memory of the run's process and its children (dbt runs in a child), sampled every
50 ms, or the kernel's ru_maxrss when larger. Other load is the CPU time other processes used during
a run, in cores. `make bench` runs this too.

The after builds use the packaged SLA policy (the calendar clock, no business-hours schedule), or
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
BEFORE_COMMIT = "b962017"
AS_OF = datetime(2024, 6, 30, 12, tzinfo=timezone.utc)
LIMITS = {"after_x_before_1m": 1.5, "after_rss_1m_mb": 1024.0}
ROUNDS = ("before", "after", "public")  # measured round by round, in a rotating order
POLICY_ENV = "USERCOM_BENCH_POLICY"
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
LABELS = {"before": "before", "after": "after", "after_first": "after, first build", "public": "public runner",
          "public_first": "public runner, first build"}


def build_once(which: str, data_dir: Path) -> dict:
    """In the child: one build and its Parquet marts on ``data_dir/tickets.duckdb``; its wall time in seconds."""
    started = time.perf_counter()
    if which == "before":
        sys.path.insert(0, os.environ["USERCOM_BENCH_OLD_TREE"])
        from transforms.runner import build  # the old tree's, which also wrote the Parquet marts

        build(data_dir / "tickets.duckdb", as_of=AS_OF)
    else:
        import duckdb

        from pipelines.job.pipeline import make_pipeline
        from pipelines.parquet_publish import publish_parquet
        from transforms.catalog import mart_names

        pipeline = make_pipeline(data_dir)
        if which == "public":
            _build_with_public_runner(pipeline)
        else:
            from transforms.build import build_marts

            build_marts(pipeline, as_of=AS_OF, policy_path=_policy_path())
        with duckdb.connect(str(data_dir / "tickets.duckdb"), read_only=True) as con:
            publish_parquet(con, mart_names(), data_dir / "marts", "analytics")
    return {"seconds": time.perf_counter() - started}


def _build_with_public_runner(pipeline) -> None:
    """The same models and tests as ``build_marts`` on DuckDB, through dlt's public `run` and `test`."""
    from transforms.dbt_runner import DbtRun
    from transforms.policy import dbt_env, dbt_vars, load_policy
    from transforms.warehouse import MARTS_SCHEMA

    policy = load_policy(_policy_path(), AS_OF)
    variables = {"usercom_schema": pipeline.dataset_name, **dbt_vars(policy)}
    run = DbtRun(pipeline)
    with run.environment(dbt_env(policy)):
        runner = run.runner()
        runner.run((), variables, MARTS_SCHEMA)
        runner.test((), variables, MARTS_SCHEMA)


def business_hours_policy() -> str:
    """The packaged SLA policy on the business clock, with ``BUSINESS_HOURS_SCHEDULE``."""
    from transforms.policy import DEFAULT_POLICY_PATH

    packaged = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert 'sla_clock = "calendar"' in packaged
    return packaged.replace('sla_clock = "calendar"', 'sla_clock = "business"') + BUSINESS_HOURS_SCHEDULE


def _policy_path() -> Path | None:
    """The SLA policy file the after builds use (``--policy``), None for the packaged one."""
    return Path(os.environ[POLICY_ENV]) if os.environ.get(POLICY_ENV) else None


def measure(which: str, template: Path, work: Path, old_tree: Path, *, first: bool = False) -> dict:
    """One build in a fresh process on a fresh copy of ``template``: seconds, peak RSS (MB) of the process
    tree and other load (cores). The pipeline's folder of the previous build stays unless ``first``."""
    data_dir = work / which
    if first or which == "before":
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    for leftover in data_dir.iterdir():
        if leftover.name != ".dlt":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(template, data_dir / "tickets.duckdb")
    env = dict(os.environ)
    if which == "before":
        env["USERCOM_BENCH_OLD_TREE"] = str(old_tree)
    busy = _busy_seconds()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.marts_build", "--child", which, str(data_dir)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = _sample_tree_rss(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    other = max(0.0, _busy_seconds() - busy - usage.ru_utime - usage.ru_stime) / wall
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{which} build failed: {err.decode(errors='replace')[-2000:]}")
    result = orjson.loads(out.decode().strip().splitlines()[-1])
    return {"seconds": result["seconds"], "rss_mb": max(peak(), usage.ru_maxrss / 1024), "other_cores": other,
            "cpu_seconds": usage.ru_utime + usage.ru_stime}


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


def old_runner_tree(work: Path) -> Path:
    """The transforms of commit b962017 (today's runner before this change), unpacked from git."""
    tree = work / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", BEFORE_COMMIT, "transforms"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def compare(sizes: list[int], runs: int) -> dict:
    """Per size: the first build of each after variant, then alternating rounds; medians and the issue's targets."""
    from benchmarks.synthetic_raw import write_synthetic_raw_tables

    work = Path(tempfile.mkdtemp(prefix="usercom-marts-bench-"))
    figures: dict = {}
    try:
        old_tree = old_runner_tree(work)
        for tickets in sizes:
            template = work / f"raw-{tickets}.duckdb"
            write_synthetic_raw_tables(template, tickets)
            measured: dict[str, list[dict]] = {which: [] for which in ROUNDS}
            first = {which: measure(which, template, work / "runs", old_tree, first=True) for which in ("after", "public")}
            _log(tickets, "after, first build", first["after"])
            for round_number in range(runs):
                shift = round_number % len(ROUNDS)
                for which in ROUNDS[shift:] + ROUNDS[:shift]:
                    measured[which].append(measure(which, template, work / "runs", old_tree))
                    _log(tickets, which, measured[which][-1])
            figures[tickets] = {which: _summary(results) for which, results in measured.items()}
            figures[tickets]["after_first"] = _summary([first["after"]])
            figures[tickets]["public_first"] = _summary([first["public"]])
            template.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _summary(results: list[dict]) -> dict:
    return {"seconds": statistics.median(r["seconds"] for r in results),
            "rss_mb": statistics.median(r["rss_mb"] for r in results),
            "other_cores": max(r["other_cores"] for r in results), "runs": results}


def _log(tickets: int, which: str, result: dict) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {tickets:,} tickets, {which}: {result['seconds']:.1f} s, "
          f"{result['rss_mb']:.0f} MB, other load {result['other_cores']:.1f} cores", file=sys.stderr)


def render(figures: dict) -> str:
    """The before/after table, the first builds, the public runner and the targets at 1,000,000 tickets."""
    lines = [f"{'marts build (DuckDB)':<20}{'':<28}{'s':>7}{'x before':>10}{'peak RSS':>10}{'other load':>12}"]
    for tickets, f in figures.items():
        for which in ("before", "after", "after_first", "public", "public_first"):
            if which not in f:
                continue
            row = f[which]
            ratio = "" if which == "before" else f"{row['seconds'] / f['before']['seconds']:.2f}x"
            lines.append(f"{f'{tickets:,} tickets':<20}{LABELS[which]:<28}{row['seconds']:>7.1f}{ratio:>10}"
                         f"{row['rss_mb']:>8.0f}MB{row['other_cores']:>10.1f}c")
    big = figures.get(1_000_000)
    if big:
        ratio, rss = big["after"]["seconds"] / big["before"]["seconds"], big["after"]["rss_mb"]
        lines.append(f"  after / before at 1M: {ratio:.2f} (target <= {LIMITS['after_x_before_1m']}) "
                     f"{'holds' if ratio <= LIMITS['after_x_before_1m'] else 'MISSED'}")
        lines.append(f"  after peak RSS at 1M: {rss:.0f} MB (target <= {LIMITS['after_rss_1m_mb']:.0f}) "
                     f"{'holds' if rss <= LIMITS['after_rss_1m_mb'] else 'MISSED'}")
    lines.append(f"before: transforms.runner.build of {BEFORE_COMMIT}; after: transforms.build.build_marts (one dbt "
                 "build, data tests included) repeating a build in the same folder; public runner: dlt's run then "
                 "test; all with the Parquet marts; medians; RSS: the process and its children; other load: "
                 "cores other processes used (max over runs)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: the comparison (default), or one build in a child process (--child)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.marts_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--policy", type=Path, help="SLA policy file for the after builds (default: the packaged one)")
    policy.add_argument("--business-hours", action="store_true",
                        help="the after builds on the business clock (a Europe/Warsaw 09:00-17:00 schedule)")
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
        figures = compare(args.tickets, args.runs)
    print(render(figures))
    if args.policy:
        print(f"after builds with the SLA policy {'with business hours' if args.business_hours else args.policy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
