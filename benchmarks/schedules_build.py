"""The marts build with one business-hours schedule against three schedules with country calendars, side by
side on the same synthetic raw tables, and optionally a checkout of main with one schedule beside them.

    python -m benchmarks.schedules_build [--tickets 1000000] [--rounds 2] [--base /path/to/main/checkout]

One schedule is marts_build's ``--business-hours`` policy (Europe/Warsaw 09:00-17:00, four holidays, the
business clock); three schedules are that one on Poland's calendar, California's (US-CA calendar) for Low
tickets and one around the clock for Urgent ones. Each build is a fresh process (``marts_build.measure``:
wall seconds, CPU seconds, peak RSS of the process tree, other load); a first round (dbt parses the whole
project) is printed and left out, then the variants alternate round by round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks import marts_build

EVERY_DAY = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
THREE_SCHEDULES = """
[schedules.california]
timezone = "America/Los_Angeles"
""" + "".join(f'{day} = ["08:00", "18:00"]\n' for day in EVERY_DAY[:5]) + """holidays = { country = "US", subdivision = "CA" }

[schedules.around_the_clock]
timezone = "UTC"
""" + "".join(f'{day} = ["00:00", "24:00"]\n' for day in EVERY_DAY) + """
[[schedule_rules]]
schedule = "around_the_clock"
priority = ["Urgent"]

[[schedule_rules]]
schedule = "california"
priority = ["Low"]
"""


def policies() -> dict[str, str]:
    """The two policy files' texts: one schedule, and three with country calendars."""
    one = marts_build.business_hours_policy()
    three = one.replace('holidays = ["2024-05-01", "2024-05-03", "2024-12-25", "2024-12-26"]',
                        'holidays = { country = "PL", add = ["2024-12-24"] }') + THREE_SCHEDULES
    return {"one": one, "three": three}


def main(argv: list[str] | None = None) -> int:
    """Command line: the rounds, then per variant the sorted figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.schedules_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base", type=Path, help="a checkout of main, built with one schedule beside this one's")
    args = parser.parse_args(argv)
    from benchmarks.synthetic_raw import write_synthetic_raw_tables

    work = Path(tempfile.mkdtemp(prefix="usercom-schedules-bench-"))
    try:
        for name, text in policies().items():
            (work / f"{name}.toml").write_text(text)
        template = work / "raw.duckdb"
        write_synthetic_raw_tables(template, args.tickets)
        variants = {"one schedule": (marts_build.ROOT, work / "one.toml"),
                    "three schedules": (marts_build.ROOT, work / "three.toml")}
        if args.base:
            variants = {"main, one schedule": (args.base.resolve(), work / "one.toml"), **variants}
        order, results = list(variants), {name: [] for name in variants}
        home = marts_build.ROOT
        for round_number in range(args.rounds + 1):
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                root, policy = variants[name]
                marts_build.ROOT = root  # measure() runs the build's child process in this checkout
                os.environ[marts_build.POLICY_ENV] = str(policy)
                figures = marts_build.measure("after", template, work / name.replace(" ", "_").replace(",", ""),
                                              work, first=round_number == 0)
                print(round_number, name, {k: round(v, 2) for k, v in figures.items()}, flush=True)
                if round_number:
                    results[name].append(figures)
        marts_build.ROOT = home
        for name, runs in results.items():
            print(f"{name}: wall {sorted(round(r['seconds'], 1) for r in runs)} s, "
                  f"CPU {sorted(round(r['cpu_seconds'], 1) for r in runs)} s, "
                  f"peak RSS {sorted(round(r['rss_mb']) for r in runs)} MB, "
                  f"other load up to {max(r['other_cores'] for r in runs):.2f} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
