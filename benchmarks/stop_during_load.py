"""Signal to exit while dlt normalizes and loads a big package into DuckDB: a base commit and this tree side by side.

    python -m benchmarks.stop_during_load [--tickets 200000] [--rounds 1] [--base REV] [--moments ...] [--verify]

A sandbox (its own process) serves N tickets; one full run loads them into a template data directory. Each trial
copies the template and starts `usercom-tickets run --no-transform --full-refresh` on it (every ticket read again
and merged on id: the biggest load a night makes), waits for a moment of dlt's normalize or load step, seen in the
package folders dlt moves through `<data>/.dlt/usercom/` (as tests/test_faults_process.py does), sends SIGTERM or
SIGINT, and times the signal to the process's exit. Then it reads the database: it must open and hold every
ticket once; it says whether the trial's load was committed (a new row in `_dlt_loads`) or the data put back.
`--verify` also runs the next plain run on it and checks it ends complete. "base" runs the base commit's
`pipelines` and `transforms` (unpacked with `git archive`) with this virtualenv; base and this tree alternate
trial by trial. Wall seconds: the signal's delay is what is measured, on a shared machine (read the spread, not
the hundredths).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import orjson

ROOT = Path(__file__).resolve().parent.parent
BASE_COMMIT = "c513c6a"  # main before the load's statements could be interrupted
PACKAGES = Path(".dlt") / "usercom"
# a moment of the run: the folder glob (under the data directory's dlt folder) whose appearance marks it, and how
# long to wait after it appeared
MOMENTS: dict[str, tuple[str, float]] = {
    "normalize: package extracted": ("normalize/extracted/*", 0.0),
    "normalize: load package written": ("load/new/*", 0.0),
    "normalize: 0.5 s in": ("load/new/*", 0.5),
    "load: copy into staging": ("load/normalized/*/started_jobs/*.parquet", 0.0),
    "load: merge starts": ("load/normalized/*/started_jobs/*.sql", 0.0),
    "load: merge 0.5 s in": ("load/normalized/*/started_jobs/*.sql", 0.5),
}
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def start_sandbox(tickets: int) -> tuple[subprocess.Popen, str]:
    """The sandbox in its own process and its base URL."""
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.sandbox_proc", "--tickets", str(tickets)], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, orjson.loads(process.stdout.readline())["base_url"]


def run_env(base_url: str, tree: Path) -> dict:
    """The environment of a run of `tree`'s command line against the sandbox."""
    from pipelines.sandbox import SANDBOX_API_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "RUNTIME__", "PYTHONPATH"))}
    return {**env, "PYTHONPATH": str(tree), "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY,
            "SOURCES__USERCOM__BASE_URL": base_url, "RUNTIME__DLTHUB_TELEMETRY": "false"}


def start_run(data_dir: Path, env: dict, tree: Path, *args: str) -> subprocess.Popen:
    """`usercom-tickets run --no-transform` of `tree` on `data_dir`."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir), "--no-transform",
                             *args], cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def tickets_in(data_dir: Path) -> tuple[int, int, int]:
    """(rows of `tickets`, distinct ids, loads committed: rows of `_dlt_loads`)."""
    with duckdb.connect(str(data_dir / "tickets.duckdb"), read_only=True) as con:
        rows, ids = con.execute("SELECT count(*), count(DISTINCT id) FROM usercom.tickets").fetchone()
        loads = con.execute("SELECT count(*) FROM usercom._dlt_loads").fetchone()[0]
    return rows, ids, loads


def trial(template: Path, work: Path, env: dict, tree: Path, moment: str, sent: str, tickets: int,
          verify: bool) -> dict:
    """One signalled run: the moment reached, the signal to exit in seconds, the exit code, what the database holds."""
    data_dir = work / "trial"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(template, data_dir, symlinks=True)
    pattern, delay = MOMENTS[moment]
    reached = str(data_dir / PACKAGES / pattern)
    process = start_run(data_dir, env, tree, "--full-refresh")
    while not glob.glob(reached):
        if process.poll() is not None:
            process.communicate()
            return {"moment": moment, "signal": sent, "missed": True}
        time.sleep(0.002)
    time.sleep(delay)
    signalled = time.monotonic()
    process.send_signal(SIGNALS[sent])
    _, err = process.communicate(timeout=600)
    seconds = time.monotonic() - signalled
    said = (err.strip().splitlines() or [""])[-1]
    rows, ids, loads = tickets_in(data_dir)
    result = {"moment": moment, "signal": sent, "seconds": seconds, "code": process.returncode, "said": said[:160],
              "whole": rows == ids == tickets, "committed": loads > tickets_in(template)[2]}
    if verify:
        next_run = start_run(data_dir, env, tree)
        _, next_err = next_run.communicate(timeout=900)
        rows, ids, _ = tickets_in(data_dir)
        result["next_run_exact"] = next_run.returncode == 0 and rows == ids == tickets
        if not result["next_run_exact"]:
            result["next_run_said"] = next_err.strip()[-300:]
    return result


def measure(tickets: int, rounds: int, base: str | None, moments: list[str], signals: list[str],
            verify: bool) -> dict:
    """Every (moment, signal) `rounds` times on base and on this tree, alternating."""
    from benchmarks.marts_build import base_tree

    work = Path(tempfile.mkdtemp(prefix="usercom-stop-bench-"))
    sandbox, base_url = start_sandbox(tickets)
    trees = {"after": ROOT}
    figures: dict = {"tickets": tickets, "base_commit": base, "trials": []}
    try:
        if base:
            trees = {"base": base_tree(work, base), **trees}
        template = work / "template"
        loaded = start_run(template, run_env(base_url, ROOT), ROOT)
        _, err = loaded.communicate(timeout=1800)
        if loaded.returncode != 0:
            raise SystemExit(f"the template's run failed: {err.strip()[-500:]}")
        for round_number in range(rounds):
            for moment in moments:
                for sent in signals:
                    order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
                    for which in order:
                        result = dict(trial(template, work, run_env(base_url, trees[which]), trees[which], moment,
                                            sent, tickets, verify), tree=which)
                        figures["trials"].append(result)
                        print(_line(result), flush=True)
    finally:
        sandbox.communicate("quit\n", timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _line(result: dict) -> str:
    head = f"{result['tree']:<6}{result['moment']:<34}{result['signal']:<8}"
    if result.get("missed"):
        return head + "the run ended before the moment"
    verified = {True: " next run exact", False: " NEXT RUN NOT EXACT", None: ""}[result.get("next_run_exact")]
    return (head + f"{result['seconds']:6.2f} s  exit {result['code']}  "
            f"{'committed' if result['committed'] else 'put back'}{'' if result['whole'] else ' NOT WHOLE'}{verified}")


def render(figures: dict) -> str:
    """Median signal-to-exit seconds by moment and tree."""
    lines = [f"signal to exit, s (median, max) at {figures['tickets']:,} tickets, run --full-refresh into DuckDB",
             f"{'moment':<34}{'base':>16}{'after':>16}"]
    for moment in dict.fromkeys(t["moment"] for t in figures["trials"]):
        cells = []
        for which in ("base", "after"):
            seconds = [t["seconds"] for t in figures["trials"]
                       if t["moment"] == moment and t["tree"] == which and not t.get("missed")]
            cells.append(f"{statistics.median(seconds):.2f} ({max(seconds):.2f})" if seconds else "-")
        lines.append(f"{moment:<34}{cells[0]:>16}{cells[1]:>16}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stop_during_load")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--base", default=BASE_COMMIT, help=f"the commit measured beside this tree (default {BASE_COMMIT})")
    parser.add_argument("--no-base", action="store_true", help="this tree only")
    parser.add_argument("--moments", nargs="+", choices=list(MOMENTS), default=list(MOMENTS))
    parser.add_argument("--signals", nargs="+", choices=list(SIGNALS), default=list(SIGNALS))
    parser.add_argument("--verify", action="store_true", help="run once more after each trial and check it is exact")
    args = parser.parse_args(argv)
    figures = measure(args.tickets, args.rounds, None if args.no_base else args.base, args.moments, args.signals,
                      args.verify)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "stop_during_load.json").write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print(render(figures))


if __name__ == "__main__":
    main()
