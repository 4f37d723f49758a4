"""The marts on a synthetic raw dataset generated in DuckDB SQL: every data test passes on thousands
of varied tickets, and the build time is printed (the timing that counts is `make bench`'s).

20,000 tickets by default; for the 1,000,000-ticket timing:
    USERCOM_SCALE_TICKETS=1000000 .venv/bin/python -m pytest tests/test_transforms_scale.py -q -s
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import duckdb

from benchmarks.synthetic_raw import write_synthetic_raw_tables
from tests.test_transforms import build

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)


def test_build_on_synthetic_tickets_passes_every_data_test(tmp_path):
    tickets = int(os.environ.get("USERCOM_SCALE_TICKETS", "20000"))
    db = tmp_path / "tickets.duckdb"
    started = time.perf_counter()
    write_synthetic_raw_tables(db, tickets)
    generated = time.perf_counter() - started

    result = build(db, as_of=AS_OF)

    with duckdb.connect(str(db), read_only=True) as con:
        (in_marts,) = con.execute("select count(*) from analytics.fct_tickets").fetchone()
        (created_by_as_of,) = con.execute(
            "select count(*) from usercom.tickets where created_at <= $as_of", {"as_of": AS_OF}
        ).fetchone()
        sources = dict(con.execute(
            "select coalesce(closed_at_source, 'open'), count(*) from analytics.fct_tickets group by all"
        ).fetchall())
    assert in_marts == created_by_as_of > 0
    assert {"status_history", "observed", "updated_at", "open"} <= set(sources)
    print(f"\n{tickets:,} tickets: raw data generated in {generated:.1f} s, build (models, "
          f"{result.tests_passed} data tests) in {result.seconds:.1f} s")
