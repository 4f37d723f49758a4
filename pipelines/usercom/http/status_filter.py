"""Whether the API honours the status filter, decided once per run from the first page of every listing.

Some User.com list endpoints are reported to ignore their documented filters, and the reference never names
the tickets' status parameter. When the filter is ignored every status listing returns every ticket: the data
stays exact (tickets are merged on id), but the run reads everything once per status. So each listing's first
page is checked; when any holds mostly other statuses, one listing goes on through every ticket and the others
end there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["filtered", "unfiltered", "stop"]
# A first page on which more than this share of tickets carry another status means the filter is ignored (a
# ticket that changed status while the page was built is one or two of a hundred, not most).
IGNORED_SHARE = 0.5


@dataclass(frozen=True)
class Evidence:
    """The first page that showed the filter ignored: which listing, how many of its tickets had other statuses."""

    status: str
    others: int
    tickets: int


class StatusFilterCheck:
    """Shared by the status listings of one run. Each reports its first page and waits (up to `wait_seconds`)
    for the others', so every listing acts on the same verdict before flattening anything."""

    def __init__(self, statuses: Sequence[str], wait_seconds: float) -> None:
        self.statuses = list(statuses)
        self.evidence: Evidence | None = None
        self.unfiltered_listing: str | None = None
        self._wait_seconds = wait_seconds
        self._paged: set[str] = set()  # listings that reported their first page
        self._failed: set[str] = set()  # listings that failed before it
        self._decided = False
        self._changed = threading.Condition()

    def first_page(self, status: str, statuses_on_page: Sequence[str | None], halt: threading.Event) -> Verdict:
        """What the listing for `status` does after its first page: go on as filtered, go on through every
        ticket (`unfiltered`, one listing of the run), or `stop`. A listing that reports after the verdict
        (it waited longer than `wait_seconds`) goes on as filtered unless the verdict was `ignored`."""
        others = sum(1 for x in statuses_on_page if x != status)
        with self._changed:
            self._paged.add(status)
            if not self._decided and self.evidence is None and statuses_on_page and \
                    others / len(statuses_on_page) > IGNORED_SHARE:
                self.evidence = Evidence(status, others, len(statuses_on_page))
            self._changed.notify_all()
            deadline = time.monotonic() + self._wait_seconds
            while not self._decided and len(self._paged | self._failed) < len(self.statuses) and not halt.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.1))
            if not self._decided:
                self._decided = True
                if self.evidence is not None:  # the first listing, in the configured order, with a first page
                    self.unfiltered_listing = next(x for x in self.statuses if x in self._paged)
            if self.unfiltered_listing is None:
                return "filtered"
            return "unfiltered" if status == self.unfiltered_listing else "stop"

    def withdraw(self, status: str) -> None:
        """The listing for `status` failed before its first page: the others need not wait for it."""
        with self._changed:
            self._failed.add(status)
            self._changed.notify_all()

    @property
    def ignored(self) -> bool:
        """Whether this run found the status filter ignored."""
        return self.unfiltered_listing is not None
