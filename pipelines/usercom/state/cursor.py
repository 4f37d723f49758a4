"""The incremental cursor of one status listing, kept in dlt's resource state (versions.py writes it).

The API has no `updated_at` filter, so every run lists every page and skips unchanged tickets here,
before any typing or writing. A ticket is unchanged when it was updated before the cursor, or when
its exact version (id, updated_at) was loaded by the last run inside the cursor's safety margin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from pipelines.usercom.times import parse_iso, to_micros

STATE_KEY = "updated_since"
VERSIONS_KEY = "versions_since"


@dataclass
class UpdatedSince:
    """Where the last successful run of a listing left off."""

    since: int | None = None  # µs since the epoch; None reads everything
    versions: dict[int, int] = field(default_factory=dict)  # id -> updated_at µs loaded at/after `since`
    _sorted: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_state(cls, state: dict, full_refresh: bool) -> UpdatedSince:
        """The cursor stored in a resource state, or an empty one for a first run or a full refresh."""
        if full_refresh or not state.get(STATE_KEY):
            return cls()
        versions = {int(k): int(v) for k, v in state.get(VERSIONS_KEY, {}).items()}
        return cls(to_micros(parse_iso(state[STATE_KEY])), versions)

    @classmethod
    def oldest(cls, cursors: Iterable[UpdatedSince]) -> UpdatedSince:
        """One cursor for a listing that reads what several listings read: the earliest `since` (none when any
        has none) and every version any of them loaded, so nothing one of them would re-read is skipped."""
        cursors = list(cursors)
        if not cursors or any(c.since is None for c in cursors):
            return cls()
        versions: dict[int, int] = {}
        for c in cursors:
            for ticket_id, stamp in c.versions.items():
                versions[ticket_id] = max(stamp, versions.get(ticket_id, stamp))
        return cls(min(c.since for c in cursors), versions)

    def unchanged(self, ticket_id: int, stamp: int) -> bool:
        """True when this version of the ticket was loaded already."""
        if self.since is None:
            return False
        return stamp < self.since or self.versions.get(ticket_id) == stamp

    def unchanged_mask(self, ids: np.ndarray, stamps: np.ndarray) -> np.ndarray:
        """`unchanged` of many tickets at once, as a boolean array."""
        if self.since is None:
            return np.zeros(len(ids), bool)
        if self._sorted is None:
            known_ids = np.fromiter(self.versions.keys(), np.int64, len(self.versions))
            known_stamps = np.fromiter(self.versions.values(), np.int64, len(self.versions))
            order = np.argsort(known_ids)
            self._sorted = (known_ids[order], known_stamps[order])
        known_ids, known_stamps = self._sorted
        at = np.minimum(np.searchsorted(known_ids, ids), max(len(known_ids) - 1, 0))
        loaded = (known_ids[at] == ids) & (known_stamps[at] == stamps) if len(known_ids) else np.zeros(len(ids), bool)
        return (stamps < self.since) | loaded
