"""Data tests: queries that return the rows breaking a rule; any row fails the build.

Two kinds: the SQL files in ``data_tests/`` (one rule each, named after the file), and a unique and a
not-null test on the key of every mart declared in ``marts/schema.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.docs import MartDoc
from transforms.models import ROOT, SCHEMA

TESTS_DIR = ROOT / "data_tests"
SAMPLE_SIZE = 5


@dataclass(frozen=True)
class DataTest:
    """A named query returning offending rows."""

    name: str
    sql: str


@dataclass(frozen=True)
class TestFailure:
    """A data test that returned rows: how many, and the first few of them as column=value dicts."""

    __test__ = False  # not a pytest class

    name: str
    row_count: int
    samples: tuple[dict[str, object], ...]

    def describe(self) -> str:
        """One line: the test, its row count and up to five offending rows."""
        shown = "; ".join("(" + ", ".join(f"{k}={v!r}" for k, v in row.items()) + ")" for row in self.samples)
        rows = "row" if self.row_count == 1 else "rows"
        return f"{self.name}: {self.row_count} offending {rows}, e.g. {shown}"


class DataTestBroken(RuntimeError):
    """A data test's SQL could not run; the message names the test."""


class DataTestFailed(Exception):
    """One or more data tests returned rows; ``failures`` holds each, the message names them all."""

    def __init__(self, failures: list[TestFailure]):
        self.failures = failures
        super().__init__(
            f"{len(failures)} data test(s) failed:\n" + "\n".join(f"- {f.describe()}" for f in failures)
        )


def load_data_tests(mart_docs: dict[str, MartDoc], tests_dir: Path = TESTS_DIR) -> list[DataTest]:
    """The key tests of every documented mart, then the SQL tests in ``tests_dir``, by name."""
    generic = []
    for mart, doc in sorted(mart_docs.items()):
        key = ", ".join(doc.key)
        generic.append(
            DataTest(
                f"{mart}__key_is_unique",
                f"select {key}, count(*) as row_count from {SCHEMA}.{mart} group by all having count(*) > 1",
            )
        )
        generic.append(
            DataTest(
                f"{mart}__key_is_not_null",
                f"select {key} from {SCHEMA}.{mart} where " + " or ".join(f"{c} is null" for c in doc.key),
            )
        )
    singular = [DataTest(p.stem, p.read_text(encoding="utf-8")) for p in sorted(tests_dir.glob("*.sql"))]
    return generic + singular


def run_data_tests(con: duckdb.DuckDBPyConnection, tests: list[DataTest]) -> list[TestFailure]:
    """Run every test; return the failures (empty when all pass)."""
    failures = []
    for test in tests:
        try:
            cursor = con.execute(
                f"select *, count(*) over () as __offending_rows from ({test.sql.rstrip().rstrip(';')}) limit {SAMPLE_SIZE}"
            )
            rows = cursor.fetchall()
        except duckdb.Error as err:
            raise DataTestBroken(f"data test {test.name} could not run: {err}") from err
        if rows:
            columns = [d[0] for d in cursor.description][:-1]
            samples = tuple(dict(zip(columns, row[:-1])) for row in rows)
            failures.append(TestFailure(test.name, rows[0][-1], samples))
    return failures
