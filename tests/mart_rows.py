"""Marts compared row for row across engines (DuckDB against PostgreSQL, Spark): rows in an order both share,
instants in UTC, floats to 9 significant digits (engines sum and interpolate in different orders)."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def comparable(row) -> tuple:
    """A row with instants in UTC and floats as they are (compared with a tolerance: see ``close``)."""
    return tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in row)


def ordered(table: list[tuple]) -> list[tuple]:
    """Rows in an order both engines' rows share: by every value but floats, floats (rounded) breaking ties."""
    def key(row):
        return (tuple((v is None, str(v)) for v in row if not isinstance(v, float)),
                tuple(f"{v:.6g}" for v in row if isinstance(v, float)))
    return sorted((comparable(r) for r in table), key=key)


def close(a: tuple, b: tuple) -> bool:
    """Equal rows, floats to 9 significant digits (engines sum and interpolate in different orders)."""
    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))
        return x == y
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))


def assert_same_rows(other: list[tuple], duck: list[tuple], mart: str) -> None:
    """Every row of another engine's ``mart`` equals DuckDB's, in the order both share."""
    for other_row, duck_row in zip(ordered(other), ordered(duck), strict=True):
        assert close(other_row, duck_row), (mart, other_row, duck_row)


BUILT_AT = "built_at"  # when a build started: its own on each engine, compared apart from the rows


def without_built_at(columns: list[str], table: list[tuple]) -> list[tuple]:
    """The rows without the build's start time (a mart that has none comes back as it is)."""
    keep = [i for i, name in enumerate(columns) if name != BUILT_AT]
    return [tuple(row[i] for i in keep) for row in table]
