"""The command line's option values, checked as argparse reads them: a bad one is a usage error (exit 2) naming the
option, what was given and what to give instead."""

from __future__ import annotations

import argparse
import math

from pipelines.usercom.settings import STATUSES


def seconds(value: str) -> float:
    """`--wait-for-lock`: a number of seconds, 0 or more (0: refuse at once)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds: give 0 (refuse at once, the default) "
                                         "or more, e.g. --wait-for-lock 600")
    return number


def statuses(value: str) -> list[str]:
    """`--statuses`: a comma-separated, non-empty subset of the API's statuses."""
    chosen = [x.strip() for x in value.split(",") if x.strip()]
    if not chosen:
        raise argparse.ArgumentTypeError(f"{value!r} names no status: give one or more of {','.join(STATUSES)}, "
                                         "comma-separated, or leave the option out for all")
    unknown = [x for x in chosen if x not in STATUSES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown status {', '.join(unknown)}: choose from {', '.join(STATUSES)}")
    return list(dict.fromkeys(chosen))


def positive_count(value: str) -> int:
    """`--tickets` of `demo`: a whole number, 1 or more."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a count: give a whole number of 1 or more, e.g. 5000")
    return number


def port(value: str) -> int:
    """`--port`: a TCP port, 0 (any free one) to 65535."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port: give 0 (any free port) to 65535, e.g. 8765")
    return number
