"""No listing thread imports pandas: pyarrow imports it on the first `pa.array`/`pa.scalar` of Python objects, and
dlt's extract, on the main thread, looks `sys.modules["pandas"]` up meanwhile and fails on the half-imported module
("partially initialized module 'pandas' has no attribute 'DataFrame'"), at random. Watched in a fresh process
running the real pipeline against the real sandbox through every way a page is flattened: the row path (a rejected
ticket), `tickets_rejected`, tombstones (a ticket that lost segments while the run paged), unchanged tickets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.usercom.flatten.fields import TIMESTAMP
from pipelines.usercom.flatten.numpy_arrays import from_values

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: the import watch goes in before anything imports pyarrow, dlt or pandas.
PROBE = r"""
import json, sys, threading
importers = []

class WatchPandas:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            importers.append(threading.current_thread().name)
        return None

sys.meta_path.insert(0, WatchPandas())

import copy, tempfile
from pathlib import Path
from pipelines.sandbox import SandboxOptions, SandboxServer
from tests.conftest import query, run, seed_tickets

base = seed_tickets()[0]
segments = lambda n: [{"id": 900 + i, "name": f"S{i}"} for i in range(n)]
tickets = [dict(copy.deepcopy(base), id=i, status="closed", segments=segments(1)) for i in range(1, 1001)]
tickets[6]["due_date"] = "next tuesday"  # rejected: its page goes the row path, the ticket to tickets_rejected
tickets.append(dict(copy.deepcopy(base), id=2000, status="active", segments=segments(3)))
server = SandboxServer(SandboxOptions(ticket_list=tickets, latency_ms=15)).start()
served, moved = set(), []

def move_once_active_is_read(srv, number, status, page):
    served.add(status)
    if status == "closed" and "active" in served and page and page >= 3 and not moved:
        moved.append(srv.update_ticket(2000, status="closed", segments=segments(1)))  # 2 positions to tombstone

server.on_request(move_once_active_is_read)
data = Path(tempfile.mkdtemp()) / "data"
outcome = {}
try:
    first = run(server, data)
    server.on_request(None)
    server.update_ticket(5, name="changed")
    server.update_ticket(7, name="changed")  # still rejected, on a page of unchanged tickets
    second = run(server, data)  # every other ticket unchanged
    outcome = {
        "moved": bool(moved), "rejected": [first.rejected, second.rejected],
        "loaded": [sum(x.kept for x in s.report.listings.values()) for s in (first, second)],
        "mover_segments": query(data, "SELECT count(*) FROM usercom.tickets__segments WHERE ticket_id = 2000"),
        "rejects": query(data, "SELECT ticket_id FROM usercom.tickets_rejected"),
    }
except Exception as error:
    outcome = {"error": f"{type(error).__name__}: {error}"}
finally:
    server.stop()
print(json.dumps({"importers": importers, **outcome}, default=str))
"""


def test_no_listing_thread_imports_pandas_in_a_run_with_rejects_tombstones_and_unchanged_tickets(tmp_path):
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(seen["importers"]) <= {"MainThread"}, f"pandas imported on {seen['importers']}: {seen}"
    assert "error" not in seen, seen["error"]
    assert seen["moved"], "the sandbox hook did not move the ticket"
    assert seen["rejected"] == [1, 1] and seen["rejects"] == [["7"], ["7"]]  # each version kept
    assert seen["loaded"] == [1001, 1]  # 999 closed and the mover read twice; then ticket 5
    assert seen["mover_segments"] == [[1]]  # the two positions its older version left were tombstoned


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
VALUES = {
    pa.int64(): st.integers(-(2**63), 2**63 - 1),
    pa.float64(): st.floats(allow_nan=False) | st.integers(-(2**53), 2**53),
    pa.bool_(): st.booleans(),
    pa.string(): st.text(st.characters(blacklist_categories=("Cs",))),
    TIMESTAMP: st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)
    | st.integers(-(2**62), 2**62),
}


@pytest.mark.parametrize("arrow_type", list(VALUES), ids=str)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_arrays_built_without_pyarrow_conversion_equal_pa_array(arrow_type, data):
    values = data.draw(st.lists(st.none() | VALUES[arrow_type], max_size=40))
    built = from_values(values, arrow_type)
    assert built.type == arrow_type and built.validate(full=True) is None
    assert built.equals(pa.array(values, arrow_type))


@pytest.mark.parametrize(("arrow_type", "odd"), [
    (pa.int64(), True), (pa.int64(), 1.0), (pa.int64(), "1"), (pa.float64(), False), (pa.float64(), "1.5"),
    (pa.bool_(), 1), (pa.string(), 5), (pa.string(), b"bytes"), (TIMESTAMP, "2024-01-01T00:00:00Z"), (TIMESTAMP, True),
])
def test_a_value_of_another_kind_is_refused_not_converted(arrow_type, odd):
    with pytest.raises(TypeError):
        from_values([None, odd], arrow_type)
    with pytest.raises(OverflowError):
        from_values([2**63], pa.int64())
