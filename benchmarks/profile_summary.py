"""Headline of a py-spy profile: the functions holding most samples, inclusive and self.

Reads py-spy's raw (collapsed stack) output: one `frame;frame;...;frame count` line per stack.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _label(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def _stacks(path: str):
    """(stack, samples) of every well-formed line of a py-spy raw profile."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if stack and count.isdigit():
                yield stack, int(count)


def summarise(path: str, top: int = 12) -> dict:
    """Total samples, and the top functions by inclusive and by self samples, as (share, label)."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for stack, n in _stacks(path):
        frames = [_label(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        for label in set(frames):
            inclusive[label] += n
        own[frames[-1]] += n
    def share(c):
        return [(round(100 * v / total, 1), k) for k, v in c.most_common(top)] if total else []
    return {"samples": total, "inclusive": share(inclusive), "self": share(own)}


# Where a run's time goes, by the first matching frame (checked in this order) anywhere in a stack.
CATEGORIES = (
    ("fetch+decode", ("usercom/pages/pagination.py", "TicketsClient.fetch")),
    ("flatten", ("PageFlattener.",)),
    ("dlt extract (per item)", ("Extractor.write_items", "ArrowExtractor.write_items")),
    ("dlt normalize", ("Normalize.run",)),
    ("dlt load", ("Load.run",)),
)


def _importing(stack: str) -> bool:
    """A sample outside the measured work: the child importing modules before `run_job` starts.

    Worker threads (dlt's extract and load pools) always count; the main thread only inside `run_job`.
    """
    first = stack.split(";", 1)[0]
    return "_bootstrap" not in first and "run_job (" not in stack


def categories(path: str) -> dict[str, float]:
    """Share (%) of samples per stage of a run; the rest is `other` (pipeline set-up, schema, state)."""
    counts = {name: 0 for name, _ in CATEGORIES}
    counts["other"] = 0
    total = 0
    for stack, n in _stacks(path):
        if _importing(stack):
            continue
        total += n
        for name, markers in CATEGORIES:
            if any(m in stack for m in markers):
                counts[name] += n
                break
        else:
            counts["other"] += n
    return {k: round(100 * v / total, 1) for k, v in counts.items()} if total else {}


if __name__ == "__main__":
    result = summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    print("samples", result["samples"])
    print("-- stages", categories(sys.argv[1]))
    print("-- inclusive")
    for pct, label in result["inclusive"]:
        print(f"{pct:6.1f}%  {label}")
    print("-- self")
    for pct, label in result["self"]:
        print(f"{pct:6.1f}%  {label}")
