"""What deletions are judged on (pipelines/deletions.py): every ticket id a run listed, and how many complete runs
there have been.

The API has no deleted-tickets endpoint: a deleted ticket only stops being listed. So a run keeps the id of every
ticket its listings received, unchanged ones included, as one NumPy column (8 bytes a ticket: 8 MB at 1,000,000),
and a run that listed every status to its end counts itself in the listings' resource states, committed with its
load like the cursor: a failed run counts for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from pipelines.usercom.state.growing_column import GrowingColumn

COMPLETE_RUNS_KEY = "complete_runs"


class ListedTickets:
    """The ids of every ticket the listings of one run received; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = GrowingColumn(np.int64)

    def add(self, ids: np.ndarray) -> None:
        """Remembers the ids of one page's tickets (a ticket read twice may be added twice)."""
        if len(ids):
            with self._lock:
                self._ids.extend(ids)

    def take(self) -> np.ndarray:
        """Every id added, once each, sorted; the column is handed over, sorted in place (np.unique would copy it:
        8 MB more at 1,000,000 tickets, at the end of the load), and this object starts empty."""
        with self._lock:
            ids, self._ids = self._ids.values(), GrowingColumn(np.int64)
        ids.sort()
        repeated = ids[1:] == ids[:-1]  # a ticket read by two listings (it moved while they paged)
        return ids[np.concatenate(([True], ~repeated))] if repeated.any() else ids


def count_complete_run(states: Iterable[dict]) -> int:
    """Records, in the resource state of every status listing, that this run listed every status to its end;
    returns the run's number (1 for the first complete run)."""
    states = list(states)
    number = max((int(state.get(COMPLETE_RUNS_KEY, 0)) for state in states), default=0) + 1
    for state in states:
        state[COMPLETE_RUNS_KEY] = number
    return number
