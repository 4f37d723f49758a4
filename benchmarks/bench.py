"""`make bench`: this project against the floor and dlt's generic `rest_api` source, side by side.

    python -m benchmarks.bench [--tickets N | --quick] [--runs 5] [--rss-1m] [--no-rest-api] [--no-latency]
                               [--no-rate | --only-rate] [--rate-runs 3]

The sandbox API runs in its own process. Every contender run is a fresh subprocess (peak RSS from
`os.wait4`), contenders alternate round by round, and each run records how busy the rest of the machine
was (CPU used by other processes, in cores); a run with more than `--busy` cores of foreign load is run
again once. The rate-limited mode runs the pipeline against a sandbox that allows 10 requests/s and answers
429 beyond. Results: tables on stdout and a JSON file in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import orjson

from benchmarks import marts_build, spark_build

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
LIBRARIES = ("dlt", "duckdb", "pyarrow", "orjson", "requests", "numpy", "pandas")
STATUSES = ("active", "closed", "archived", "draft")
# importing `pipelines` sets ARROW_DEFAULT_MEMORY_POOL; the other contenders get the environment the bench started with
STARTED_WITH_ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL" in os.environ
LOW_MEMORY_LIMIT = "128MB"  # the 1M check also runs with this `usercom_duckdb_memory_limit`, to show the trade

# the rate-limited mode (issue 11): a sandbox allowing RATE_LIMIT requests in any 1 s, 429 with Retry-After beyond
RATE_LIMIT = 10
RATE_RETRY_AFTER = "1"
RATE_TICKETS = 20_000
RATE_CAP = 9  # requests_per_second of the capped run: under the limit, so no 429 is expected
RATE_CONTENDERS = ("rate_usercom", "rate_usercom_capped")

# the targets of issues 5 and 11, as (key, label, limit, comparison)
TARGETS = (
    ("usercom_x_floor", "end to end / floor", 2.5, "<="),
    ("rest_api_defaults_x_usercom", "rest_api defaults / usercom", 20.0, ">="),
    ("rest_api_parquet_x_usercom", "rest_api parquet / usercom", 5.0, ">="),
    ("rerun_x_floor", "unchanged re-run / floor", 1.3, "<="),
    ("latency_x_chain", "50 ms latency: run / longest chain", 1.2, "<="),
    ("rss_1m_mb", "peak RSS at 1M tickets (MB)", 300.0, "<="),
    ("rss_1m_x_100k", "peak RSS 1M / 100k", 1.25, "<="),
    ("rate_429_share", f"{RATE_LIMIT} req/s limit: requests answered 429", 0.02, "<="),
    ("rate_x_minimum", f"{RATE_LIMIT} req/s limit: run / (pages / {RATE_LIMIT})", 1.15, "<="),
)


# ----- machine ------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
        "platform": platform.platform(), "libraries": versions,
    }


def _busy_jiffies() -> int:
    """CPU time the whole machine spent busy, in clock ticks (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return user + nice + system + irq + softirq


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ----- the sandbox process ------------------------------------------------------------------------
class Sandbox:
    """`benchmarks.sandbox_proc` in a subprocess: its base URL, counters and CPU time."""

    def __init__(self, tickets: int, latency_ms: float = 0.0, requests_per_second: float = 0.0,
                 retry_after: str = "0") -> None:
        self.tickets = tickets
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.sandbox_proc", "--tickets", str(tickets), "--latency-ms", str(latency_ms),
             "--requests-per-second", str(requests_per_second), "--retry-after", retry_after],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        hello = orjson.loads(self.proc.stdout.readline())
        self.base_url: str = hello["base_url"]
        self.generate_seconds: float = hello["generate_seconds"]
        self._lock = threading.Lock()

    def _ask(self, command: str) -> dict:
        with self._lock:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            return orjson.loads(self.proc.stdout.readline())

    def stats(self) -> dict:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def counts(self) -> dict[str, int]:
        """Tickets per status, from each listing's first page."""
        import requests

        from pipelines.sandbox import SANDBOX_API_KEY

        headers = {"Authorization": f"Token {SANDBOX_API_KEY}"}
        return {s: requests.get(f"{self.base_url}tickets/?status={s}", headers=headers, timeout=60).json()["count"]
                for s in STATUSES}

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# ----- one contender run --------------------------------------------------------------------------
@dataclass
class Run:
    contender: str
    seconds: float  # the work itself, measured inside the child
    wall: float  # the child process from start to exit (adds interpreter start and imports)
    rss_mb: float
    cpu_seconds: float
    foreign_cores: float  # CPU other processes used during the run, in cores
    sandbox_cpu: float
    sandbox_pages: int
    result: dict = field(default_factory=dict)
    error: str | None = None
    sandbox_requests: int = 0  # every request the sandbox answered, throttled ones included
    sandbox_rate_limited: int = 0  # of which 429

    @property
    def tickets_per_s(self) -> float:
        tickets = self.result.get("received") or self.result.get("tickets") or 0
        return tickets / self.seconds if self.seconds else 0.0


def run_contender(name: str, sandbox: Sandbox | None, *, data_dir: Path | None = None, status: str = "",
                  timeout: float = 1800.0, wrapper: list[str] | None = None, env: dict | None = None) -> Run:
    """Runs one contender in a fresh process (`env` added to its environment); its peak RSS comes from wait4's rusage."""
    cmd = [PYTHON, "-m", "benchmarks.contenders", name]
    if sandbox is not None:
        cmd += ["--base-url", sandbox.base_url]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    if status:
        cmd += ["--status", status]
    cmd = (wrapper or []) + cmd
    if sandbox is not None:
        sandbox.reset()
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the child writes it; read once it exited)
    err = tempfile.TemporaryFile()  # noqa: SIM115
    busy0 = _busy_jiffies()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=contender_env(env))
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status_code, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status_code)
    wall = time.perf_counter() - started
    busy = (_busy_jiffies() - busy0) / _TICK
    sandbox_stats = sandbox.stats() if sandbox is not None else {"cpu_seconds": 0.0, "pages": 0}
    cpu = usage.ru_utime + usage.ru_stime
    foreign = max(0.0, busy - cpu - sandbox_stats["cpu_seconds"]) / wall if wall else 0.0
    out.seek(0)
    err.seek(0)
    lines = [x for x in out.read().decode(errors="replace").splitlines() if x.startswith("{")]
    error = None
    result: dict = {}
    if proc.returncode != 0 or not lines:
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
        error = f"exit {proc.returncode}" + (" (killed: over the time box)" if proc.returncode == -9 else "") + \
            (": " + " | ".join(tail) if tail else "")
    else:
        result = orjson.loads(lines[-1])
    return Run(
        contender=name, seconds=result.get("seconds", wall), wall=wall, rss_mb=usage.ru_maxrss / 1024,
        cpu_seconds=cpu, foreign_cores=foreign, sandbox_cpu=sandbox_stats["cpu_seconds"],
        sandbox_pages=sandbox_stats["pages"], result=result, error=error,
        sandbox_requests=sandbox_stats.get("requests", 0), sandbox_rate_limited=sandbox_stats.get("rate_limited", 0),
    )


def contender_env(extra: dict | None = None) -> dict:
    """A contender's environment: the bench's own as it started, the sandbox key, and `extra`.

    The contenders get the key here rather than by importing `pipelines`, which would set this project's Arrow
    allocator for dlt's `rest_api` too.
    """
    from pipelines.sandbox import SANDBOX_API_KEY

    env = {**os.environ, "USERCOM_BENCH_SANDBOX_KEY": SANDBOX_API_KEY, **(extra or {})}
    if not STARTED_WITH_ARROW_POOL:
        env.pop("ARROW_DEFAULT_MEMORY_POOL", None)
    return env


# ----- the benchmark ------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.runs: list[Run] = []
        self.notes: list[str] = []
        self.extra: dict = {}
        self.work = Path(tempfile.mkdtemp(prefix="usercom-bench-"))

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def measure(self, name: str, sandbox: Sandbox | None, *, fresh: bool = False, retry: bool = True, **kwargs) -> Run:
        """One run (in an emptied `data_dir` when `fresh`); again once when the machine was clearly busy."""
        if fresh:
            shutil.rmtree(kwargs["data_dir"], ignore_errors=True)
        run = run_contender(name, sandbox, **kwargs)
        if run.foreign_cores > self.args.busy and not run.error and retry:
            self.log(f"  {name}: {run.seconds:.2f} s with {run.foreign_cores:.1f} cores of other load; once more")
            if fresh:
                shutil.rmtree(kwargs["data_dir"], ignore_errors=True)
            again = run_contender(name, sandbox, **kwargs)
            if not again.error and again.foreign_cores < run.foreign_cores:
                run = again
        expected = {"usercom": sandbox.tickets if sandbox else None, "usercom_rows": sandbox.tickets if sandbox else None,
                    "usercom_rerun": 0}.get(name)
        if expected is not None and not run.error and run.result.get("loaded") != expected:
            self.notes.append(f"check: a {name} run loaded {run.result.get('loaded')} tickets, expected {expected}")
        if name == "usercom" and run.result.get("pages_row_by_row"):
            self.notes.append(f"check: a usercom run flattened {run.result['pages_row_by_row']} page(s) row by row")
        self.log(f"  {name}: {run.seconds:.2f} s, {run.rss_mb:.0f} MB, other load {run.foreign_cores:.1f} cores"
                 + (f"  ERROR {run.error}" if run.error else ""))
        return run

    def fresh_dir(self, label: str) -> Path:
        path = self.work / label
        shutil.rmtree(path, ignore_errors=True)
        return path

    # -- the main comparison at --tickets
    def main_rounds(self, sandbox: Sandbox) -> None:
        args = self.args
        self.log(f"warm-up (fills the sandbox's page cache), then {args.runs} alternating rounds")
        run_contender("floor", sandbox)
        raw = self.measure("raw", sandbox)
        self.runs.append(raw)
        rerun_dir = self.fresh_dir("rerun")
        prepared = run_contender("usercom", sandbox, data_dir=rerun_dir)
        if prepared.error:
            raise SystemExit(f"usercom failed: {prepared.error}")
        contenders = ["floor", "usercom", "usercom_rerun"]
        if not args.no_rest_api:
            contenders.append("rest_api_parquet")
        for round_number in range(args.runs):
            shift = round_number % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            self.log(f"round {round_number + 1}/{args.runs}: {', '.join(order)}")
            for name in order:
                if name == "rest_api_parquet" and round_number >= args.rest_api_runs:
                    continue
                if name == "usercom":
                    run = self.measure(name, sandbox, fresh=True, data_dir=self.work / "usercom")
                elif name == "usercom_rerun":
                    run = self.measure(name, sandbox, data_dir=rerun_dir)
                elif name == "rest_api_parquet":
                    run = self.measure(name, sandbox, fresh=True, data_dir=self.work / "rest_parquet")
                else:
                    run = self.measure(name, sandbox)
                self.runs.append(run)
            if round_number == args.runs // 2:
                self.log("usercom row by row (columnar = false), once")
                self.runs.append(self.measure("usercom_rows", sandbox, fresh=True, data_dir=self.work / "rows"))
            if round_number == args.runs // 2 and not args.no_rest_api and not args.no_defaults:
                self.log(f"rest_api defaults, once, time box {args.defaults_timeout:.0f} s")
                run = self.measure("rest_api_defaults", sandbox, fresh=True, retry=False,
                                   data_dir=self.work / "rest_defaults", timeout=args.defaults_timeout)
                self.runs.append(run)
        if args.profile:
            self.profile(sandbox)
        shutil.rmtree(self.work / "rest_defaults", ignore_errors=True)
        shutil.rmtree(self.work / "rest_parquet", ignore_errors=True)

    def profile(self, sandbox: Sandbox) -> None:
        spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
        if not Path(spy).exists():
            self.notes.append("profile: skipped, py-spy is not installed (pip install -e '.[dev]')")
            return
        from benchmarks.profile_summary import categories, summarise

        raw_file = self.work / "profile.txt"
        self.log("profiling one usercom run with py-spy (GIL-holding samples; not in the medians)")
        run = run_contender("usercom", sandbox, data_dir=self.fresh_dir("profiled"),
                            wrapper=[spy, "record", "--gil", "--rate", "250", "--format", "raw",
                                     "--output", str(raw_file), "--"])
        if run.error or not raw_file.exists():
            self.notes.append(f"profile: py-spy failed ({run.error})")
            return
        self.extra["profile"] = {"categories": categories(str(raw_file)), **summarise(str(raw_file), top=8)}

    # -- 50 ms latency: statuses must overlap
    def latency(self) -> None:
        args = self.args
        tickets = args.latency_tickets or args.tickets
        self.log(f"latency check: sandbox with {args.latency_ms:.0f} ms a request, {tickets:,} tickets")
        sandbox = Sandbox(tickets, latency_ms=args.latency_ms)
        try:
            counts = sandbox.counts()
            longest = max(counts, key=counts.get)
            self.extra["latency"] = {"latency_ms": args.latency_ms, "tickets": tickets, "counts": counts,
                                     "longest_status": longest}
            for round_number in range(args.latency_runs):
                order = ["chain", "usercom"] if round_number % 2 == 0 else ["usercom", "chain"]
                for name in order:
                    if name == "chain":
                        run = self.measure("chain", sandbox, status=longest)
                        run.contender = "latency_chain"
                    else:
                        run = self.measure("usercom", sandbox, fresh=True, data_dir=self.work / "latency")
                        run.contender = "latency_usercom"
                    self.runs.append(run)
        finally:
            sandbox.close()

    # -- 1M tickets: peak RSS must stay flat
    def rss_1m(self) -> None:
        tickets = self.args.rss_tickets
        self.log(f"memory check: sandbox with {tickets:,} tickets (generating takes a minute)")
        sandbox = Sandbox(tickets)
        try:
            self.extra["rss_1m"] = {"tickets": tickets, "sandbox_generate_seconds": sandbox.generate_seconds}
            run_contender("raw", sandbox)  # fills the sandbox's page cache, as the warm-up above
            run = self.measure("floor", sandbox)
            run.contender = "floor_1m"
            self.runs.append(run)
            data_dir = self.work / "usercom_1m"
            run = self.measure("usercom", sandbox, fresh=True, retry=False, data_dir=data_dir)
            run.contender = "usercom_1m"
            self.runs.append(run)
            # the memory/speed trade a user can make: a smaller DuckDB memory limit while loading
            run = self.measure("usercom", sandbox, fresh=True, retry=False, data_dir=data_dir,
                               env={"USERCOM_DUCKDB_MEMORY_LIMIT": LOW_MEMORY_LIMIT})
            run.contender = "usercom_1m_low_memory"
            self.runs.append(run)
        finally:
            sandbox.close()

    # -- a sandbox that allows RATE_LIMIT requests/s: the pipeline's pacing against the API's limit
    def rate_limited(self) -> None:
        """The pipeline against a sandbox that allows RATE_LIMIT requests/s and answers 429 beyond: `--rate-runs`
        runs with the default (adaptive) pacing, then one capped at RATE_CAP requests/s by the pipeline's config."""
        runs = self.args.rate_runs
        self.log(f"rate-limited mode: sandbox allowing {RATE_LIMIT} requests/s, {RATE_TICKETS:,} tickets, {runs} "
                 f"adaptive run(s) and one capped at {RATE_CAP}/s, each ~{RATE_TICKETS / 100 / RATE_LIMIT:.0f} s")
        sandbox = Sandbox(RATE_TICKETS, requests_per_second=RATE_LIMIT, retry_after=RATE_RETRY_AFTER)
        try:
            self.extra["rate"] = {"requests_per_second": RATE_LIMIT, "retry_after": RATE_RETRY_AFTER,
                                  "tickets": RATE_TICKETS, "capped_at": RATE_CAP}
            for _ in range(runs):
                self.runs.append(self.rate_run(sandbox, "rate_usercom"))
            capped = {"SOURCES__USERCOM__REQUESTS_PER_SECOND": str(RATE_CAP)}
            self.runs.append(self.rate_run(sandbox, "rate_usercom_capped", env=capped))
        finally:
            sandbox.close()

    def rate_run(self, sandbox: Sandbox, key: str, env: dict | None = None) -> Run:
        """One full `run_job` against the rate-limited sandbox (`env` added), recorded as `key`."""
        # not run again on a busy machine: the run waits on the API's limit far more than on the CPU
        run = self.measure("usercom", sandbox, fresh=True, retry=False, data_dir=self.work / "rate", env=env)
        run.contender = key
        if not run.error:
            figures = rate_figures(run)
            self.log(f"  {key}: {figures['requests']} requests, {figures['rate_limited']} answered 429, "
                     f"{figures['pages']} pages, {figures['x_minimum']:.2f}x the limit's minimum")
        return run

    # -- figures
    def rate_median(self, name: str, figure: str) -> float | None:
        """The median over the good runs of `name` of one of their `rate_figures`."""
        values = [rate_figures(r)[figure] for r in self.runs if r.contender == name and not r.error]
        return statistics.median(values) if values else None

    def median(self, name: str, attr: str = "seconds") -> float | None:
        values = [getattr(r, attr) for r in self.runs if r.contender == name and not r.error]
        return statistics.median(values) if values else None

    def ratios(self) -> dict:
        m = self.median
        out: dict = {}

        def div(a, b):
            return a / b if a is not None and b else None

        out["usercom_x_floor"] = div(m("usercom"), m("floor"))
        out["rerun_x_floor"] = div(m("usercom_rerun"), m("floor"))
        out["rest_api_defaults_x_usercom"] = div(m("rest_api_defaults"), m("usercom"))
        out["rest_api_parquet_x_usercom"] = div(m("rest_api_parquet"), m("usercom"))
        out["latency_x_chain"] = div(m("latency_usercom"), m("latency_chain"))
        out["rss_1m_mb"] = m("usercom_1m", "rss_mb")
        out["rss_1m_x_100k"] = div(m("usercom_1m", "rss_mb"), m("usercom", "rss_mb"))
        out["usercom_1m_x_floor_1m"] = div(m("usercom_1m"), m("floor_1m"))
        out["rss_1m_low_memory_mb"] = m("usercom_1m_low_memory", "rss_mb")
        out["usercom_1m_low_memory_x_default"] = div(m("usercom_1m_low_memory"), m("usercom_1m"))
        out["rate_429_share"] = self.rate_median("rate_usercom", "share_429")
        out["rate_x_minimum"] = self.rate_median("rate_usercom", "x_minimum")
        out["rate_capped_429_share"] = self.rate_median("rate_usercom_capped", "share_429")
        out["rate_capped_x_minimum"] = self.rate_median("rate_usercom_capped", "x_minimum")
        return out


def rate_figures(run: Run) -> dict:
    """A rate-limited run's figures: requests, 429s and their share, pages (successful page answers), the run's
    seconds, the limit's minimum for those pages (pages / RATE_LIMIT) and the seconds over that minimum."""
    minimum = run.sandbox_pages / RATE_LIMIT
    return {
        "requests": run.sandbox_requests, "rate_limited": run.sandbox_rate_limited,
        "share_429": run.sandbox_rate_limited / run.sandbox_requests if run.sandbox_requests else 0.0,
        "pages": run.sandbox_pages, "seconds": run.seconds, "minimum_seconds": minimum,
        "x_minimum": run.seconds / minimum if minimum else 0.0,
    }


# ----- report -------------------------------------------------------------------------------------
LABELS = {
    "floor": "floor: fetch + orjson.loads",
    "raw": "sandbox alone: fetch, no parse",
    "usercom": "usercom (run_job, full)",
    "usercom_rerun": "usercom re-run, nothing changed",
    "usercom_rows": "usercom, row by row",
    "rest_api_parquet": "dlt rest_api, parquet files",
    "rest_api_defaults": "dlt rest_api, defaults",
    "latency_chain": "50ms: longest status alone",
    "latency_usercom": "50ms: usercom, all statuses",
    "floor_1m": "1M: floor",
    "usercom_1m": "1M: usercom (run_job)",
    "usercom_1m_low_memory": f"1M: usercom, DuckDB limit {LOW_MEMORY_LIMIT}",
}


def render(bench: Bench, info: dict, ratios: dict) -> str:
    lines = []
    args = bench.args
    what = "the rate-limited mode only" if args.only_rate else f"{args.tickets:,} tickets"
    lines.append(f"usercom-tickets benchmark, {what}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    lines.append(f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}; "
                 + ", ".join(f"{k} {v}" for k, v in info["libraries"].items() if v))
    floor = bench.median("floor")
    seen = []
    for run in bench.runs:
        if run.contender not in seen and run.contender not in RATE_CONTENDERS:
            seen.append(run.contender)
    if seen:
        lines.append("")
        header = (f"{'contender':<34}{'runs':>5}{'median s':>10}{'min s':>8}{'tickets/s':>11}{'peak RSS':>10}{'x floor':>9}"
                  f"{'other load':>12}")
        lines.append(header)
        lines.append("-" * len(header))
    for name in seen:
        runs = [r for r in bench.runs if r.contender == name]
        good = [r for r in runs if not r.error]
        if not good:
            lines.append(f"{LABELS.get(name, name):<34}{len(runs):>5}  failed: {runs[0].error}")
            continue
        med = statistics.median(r.seconds for r in good)
        rate = statistics.median(r.tickets_per_s for r in good)
        rss = statistics.median(r.rss_mb for r in good)
        x = f"{med / floor:.2f}x" if floor and name in ("usercom", "usercom_rerun", "usercom_rows", "rest_api_parquet",
                                                         "rest_api_defaults", "raw") else ""
        load = max(r.foreign_cores for r in good)
        lines.append(f"{LABELS.get(name, name):<34}{len(good):>5}{med:>10.2f}{min(r.seconds for r in good):>8.2f}"
                     f"{rate:>11,.0f}{rss:>8.0f}MB{x:>9}{load:>10.1f}c")
    lines.extend(render_rate(bench))
    lines.append("")
    lines.append("targets (ratios measured side by side in this run)")
    for key, label, limit, op in TARGETS:
        value = ratios.get(key)
        if value is None:
            lines.append(f"  {label:<40} not measured")
            continue
        holds = value <= limit if op == "<=" else value >= limit
        if key.endswith("_share"):
            shown, shown_limit = f"{value:.1%}", f"{limit:.0%}"
        else:
            shown, shown_limit = f"{value:.0f}" if key.endswith("_mb") else f"{value:.2f}", f"{limit:g}"
        lines.append(f"  {label:<40} {shown:>8}  (target {op} {shown_limit})  {'holds' if holds else 'MISSED'}")
    if ratios.get("usercom_1m_x_floor_1m"):
        lines.append(f"  {'1M: usercom / floor (info)':<40} {ratios['usercom_1m_x_floor_1m']:>8.2f}")
    if ratios.get("rss_1m_low_memory_mb"):
        lines.append(f"  {f'1M, DuckDB limit {LOW_MEMORY_LIMIT}: peak RSS (info)':<40} {ratios['rss_1m_low_memory_mb']:>8.0f}  "
                     f"MB, {ratios['usercom_1m_low_memory_x_default']:.2f}x the default's time")
    if ratios.get("rate_capped_x_minimum"):
        lines.append(f"  {f'requests_per_second = {RATE_CAP}: 429s (info)':<40} {ratios['rate_capped_429_share']:>8.1%}  "
                     f"run {ratios['rate_capped_x_minimum']:.2f}x (pages / {RATE_LIMIT})")
    raw = [r for r in bench.runs if r.contender == "raw" and not r.error]
    if raw:
        r = raw[0]
        lines.append("")
        lines.append(f"sandbox (separate process): {r.result['pages'] / r.seconds:,.0f} pages/s served to one client "
                     f"({r.result.get('bytes', 0) / r.seconds / 1e6:,.0f} MB/s); during usercom runs it was busy "
                     f"{_sandbox_share(bench, 'usercom'):.0%} of the wall time, "
                     f"during the floor {_sandbox_share(bench, 'floor'):.0%}")
    if "latency" in bench.extra:
        lat = bench.extra["latency"]
        lines.append(f"latency check: {lat['latency_ms']:.0f} ms a request, {lat['tickets']:,} tickets, longest "
                     f"listing `{lat['longest_status']}` ({lat['counts'][lat['longest_status']]:,} tickets)")
    profile = bench.extra.get("profile")
    if profile:
        lines.append("")
        lines.append(f"profile headline (py-spy --gil, one usercom run, {profile['samples']} samples; "
                     "share of GIL-holding time):")
        lines.append("  " + ", ".join(f"{k} {v:.0f}%" for k, v in profile["categories"].items()))
        lines.append("  hottest own-time functions: " + "; ".join(f"{label} {pct:.0f}%" for pct, label in profile["self"][:6]))
    lines.append("")
    lines.append("seconds: the work inside the child (imports excluded); peak RSS: the child's ru_maxrss (wait4);")
    lines.append("other load: cores used by processes other than the contender and the sandbox (max over runs).")
    if bench.args.no_rest_api:
        lines.append("rest_api contenders skipped (--no-rest-api).")
    elif not bench.args.only_rate:
        if bench.args.no_defaults:
            lines.append("rest_api defaults skipped (--no-defaults).")
        lines.append(f"rest_api defaults runs once (time box {bench.args.defaults_timeout:.0f} s); rest_api parquet "
                     f"{min(bench.args.runs, bench.args.rest_api_runs)} times.")
    for note in bench.notes:
        lines.append(note)
    return "\n".join(lines)


def render_rate(bench: Bench) -> list[str]:
    """The rate-limited mode's table: each run's requests, 429s, pages and seconds against the limit's minimum,
    and the medians of the adaptive runs (nothing when the mode did not run)."""
    runs = [r for r in bench.runs if r.contender in RATE_CONTENDERS]
    if not runs:
        return []
    lines = ["", f"rate-limited: sandbox allowing {RATE_LIMIT} requests in any 1 s, 429 with Retry-After: {RATE_RETRY_AFTER} "
                 f"beyond; {RATE_TICKETS:,} tickets, usercom (run_job, full)"]
    header = (f"{'run':<34}{'requests':>9}{'429s':>6}{'share':>7}{'pages':>7}{'wall s':>8}{'minimum s':>11}"
              f"{'x minimum':>11}{'other load':>12}")
    lines += [header, "-" * len(header)]
    adaptive = [r for r in runs if r.contender == "rate_usercom"]
    capped = [r for r in runs if r.contender == "rate_usercom_capped"]
    for number, run in enumerate(adaptive, 1):
        lines.append(_rate_row(f"adaptive (default), run {number}", run))
    good = [rate_figures(r) for r in adaptive if not r.error]
    if good:
        medians = {key: statistics.median(f[key] for f in good) for key in good[0]}
        lines.append(_rate_row(f"adaptive, median of {len(good)}", None, medians))
    for run in capped:
        lines.append(_rate_row(f"requests_per_second = {RATE_CAP}", run))
    lines.append(f"wall s: run_job inside the child; minimum s: pages / {RATE_LIMIT}, pages being the sandbox's "
                 "successful page answers; share: 429s / requests.")
    return lines


def _rate_row(label: str, run: Run | None, figures: dict | None = None) -> str:
    """One line of the rate-limited table: a run's figures, or `figures` (the medians) when `run` is None."""
    if run is not None and run.error:
        return f"{label:<34}  failed: {run.error}"
    f = figures if run is None else rate_figures(run)
    load = f"{run.foreign_cores:>11.1f}c" if run is not None else ""
    return (f"{label:<34}{f['requests']:>9.0f}{f['rate_limited']:>6.0f}{f['share_429']:>7.1%}{f['pages']:>7.0f}"
            f"{f['seconds']:>8.2f}{f['minimum_seconds']:>11.2f}{f['x_minimum']:>10.2f}x{load}")


def _sandbox_share(bench: Bench, name: str) -> float:
    runs = [r for r in bench.runs if r.contender == name and not r.error]
    return statistics.median(r.sandbox_cpu / r.seconds for r in runs) if runs else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, 3 rounds")
    parser.add_argument("--runs", type=int, default=None,
                        help="alternating rounds, medians over them (default 5, 3 with --quick)")
    parser.add_argument("--rest-api-runs", type=int, default=3, help="rounds that include rest_api parquet")
    parser.add_argument("--defaults-timeout", type=float, default=900.0, help="time box of rest_api defaults (s)")
    parser.add_argument("--no-rest-api", action="store_true", help="skip both rest_api contenders")
    parser.add_argument("--no-defaults", action="store_true", help="skip rest_api defaults only")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--latency-tickets", type=int, default=0, help="default: --tickets")
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--rss-1m", action="store_true", help="also run the 1,000,000-ticket memory check")
    parser.add_argument("--rss-tickets", type=int, default=1_000_000)
    parser.add_argument("--only-rss", action="store_true", help="only the memory check (with a 100k usercom run)")
    parser.add_argument("--only-latency", action="store_true", help="only the 50 ms latency check")
    parser.add_argument("--no-transforms", action="store_true", help="skip the marts build base/after comparison")
    parser.add_argument("--only-marts", action="store_true", help="only the marts build base/after (5k, 100k and 1M tickets)")
    parser.add_argument("--no-spark", action="store_true", help="skip the marts on Spark and DuckDB (100k and 1M tickets)")
    parser.add_argument("--only-spark", action="store_true", help="only the marts on Spark and DuckDB side by side")
    parser.add_argument("--marts-runs", type=int, default=3, help="alternating rounds of the marts comparison")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--only-rate", action="store_true",
                      help=f"only the rate-limited mode ({RATE_TICKETS:,} tickets, sandbox allowing {RATE_LIMIT} requests/s)")
    rate.add_argument("--no-rate", action="store_true", help="skip the rate-limited mode")
    parser.add_argument("--rate-runs", type=int, default=3, help="adaptive runs of the rate-limited mode (medians over them)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--busy", type=float, default=0.5, help="cores of other load that make a run worth repeating")
    args = parser.parse_args(argv)
    if args.only_spark:
        print(spark_build.render(spark_build.compare(spark_build.SIZES)))
        return 0
    if args.quick:
        args.tickets = 20_000
    if args.runs is None:
        args.runs = 3 if args.quick else 5
    bench = Bench(args)
    info = machine()
    started = time.perf_counter()
    try:
        sandbox = None if args.only_latency or args.only_marts or args.only_rate else Sandbox(args.tickets)
        try:
            if sandbox is None:
                pass
            elif args.only_rss:
                run_contender("floor", sandbox)
                for _ in range(2):
                    bench.runs.append(bench.measure("usercom", sandbox, fresh=True, data_dir=bench.work / "usercom"))
            else:
                bench.main_rounds(sandbox)
        finally:
            if sandbox is not None:
                sandbox.close()
        if not args.no_latency and not (args.only_rss or args.only_marts or args.only_rate):
            bench.latency()
        if not args.no_rate and not (args.only_rss or args.only_latency or args.only_marts):
            bench.rate_limited()
        if (args.rss_1m and not (args.only_rate or args.only_marts)) or args.only_rss:
            bench.rss_1m()
        if not args.no_transforms and not (args.only_rss or args.only_latency or args.only_rate):
            bench.log(f"marts build: base ({marts_build.BASE_COMMIT}) and after, side by side at "
                      f"{', '.join(f'{n:,}' for n in marts_build.SIZES)} tickets")
            bench.extra["marts"] = marts_build.compare(marts_build.SIZES, args.marts_runs)
        if not args.no_spark and not (args.only_rss or args.only_latency or args.only_rate or args.only_marts):
            bench.log(f"marts on Spark and on DuckDB at {', '.join(f'{n:,}' for n in spark_build.SIZES)} tickets")
            bench.extra["spark"] = spark_build.compare(spark_build.SIZES)
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    ratios = bench.ratios()
    text = render(bench, info, ratios)
    if "marts" in bench.extra:
        text += "\n\n" + marts_build.render(bench.extra["marts"])
    if "spark" in bench.extra:
        text += "\n\n" + spark_build.render(bench.extra["spark"])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-rate" if args.only_rate else "-rss" if args.rss_1m or args.only_rss else ""
    path = RESULTS / f"bench-{stamp}-{args.tickets}{suffix}.json"
    path.write_bytes(orjson.dumps({
        "args": vars(args), "machine": info, "seconds_total": time.perf_counter() - started,
        "runs": [dict(asdict(r), tickets_per_s=r.tickets_per_s) for r in bench.runs],
        "ratios": ratios, "extra": bench.extra, "notes": bench.notes, "table": text,
    }, option=orjson.OPT_INDENT_2))
    (RESULTS / "latest.txt").write_text(text + "\n")
    print(f"\nsaved {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
