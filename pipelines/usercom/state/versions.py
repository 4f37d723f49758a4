"""The (id, updated_at) of every ticket a listing read at/after its old cursor, and how the new cursor is saved."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from pipelines.usercom.state.cursor import STATE_KEY, VERSIONS_KEY
from pipelines.usercom.state.growing_column import GrowingColumn
from pipelines.usercom.times import parse_iso, to_micros


class VersionLog:
    """The (id, updated_at) of every ticket a listing read at/after its old cursor, as compact arrays."""

    def __init__(self) -> None:
        self._ids = GrowingColumn(np.int64)
        self._stamps = GrowingColumn(np.int64)
        self._newest: int | None = None

    def add(self, ids: list[int], stamps: list[int]) -> None:
        """Remembers one page's versions."""
        if len(ids):
            self._ids.extend(ids)
            self._stamps.extend(stamps)
            newest = int(np.max(stamps))
            self._newest = newest if self._newest is None else max(self._newest, newest)

    def newest(self) -> int | None:
        """The newest `updated_at` (µs) the listing read at/after its old cursor; None when it read none."""
        return self._newest

    def forget_before(self, cursor: datetime | None) -> None:
        """Drops the versions older than `cursor`, the run's new cursor as it stands so far.

        `save` keeps only versions at/after the final cursor, which only moves later, unless the API's clock
        steps back during the run; then a dropped version costs one re-read of its ticket next run, no data.
        A first run of 1,000,000 tickets held 16 MB of versions until the end, and saved a few hundred.
        """
        if cursor is None:
            return
        recent = self._stamps.values() >= to_micros(cursor)
        self._ids.keep(recent)
        self._stamps.keep(recent)

    def save(self, state: dict, cursor: datetime | None) -> None:
        """Stores the new cursor and the versions at/after it into the resource state.

        With no new cursor (the run has no evidence of the API's clock) the old one stays, and with it every
        version read at/after it; with neither, the state stays empty and the next run reads everything.
        """
        if cursor is None:
            if not state.get(STATE_KEY):
                return
            cursor = parse_iso(state[STATE_KEY])
        since = to_micros(cursor)
        versions: dict[str, int] = {}
        if len(self._ids):
            ids, stamps = self._ids.values(), self._stamps.values()
            recent = stamps >= since
            versions = {str(i): s for i, s in zip(ids[recent].tolist(), stamps[recent].tolist(), strict=True)}
        state[STATE_KEY] = cursor.isoformat()
        state[VERSIONS_KEY] = versions
