"""One request rate for a whole run: every listing's requests, read-ahead and retries take the next free slot.

With `requests_per_second` set, the rate never goes above it. Unset, requests go out as fast as they are asked
for until the API throttles (a 429, or a 401 once the key was accepted); then the rate drops just under what
the API let through in the last second, everyone waits out the `Retry-After`, and the rate creeps up again
while no throttling comes, so a limit that is raised later is found again.

Written here rather than taken from a rate-limiting library: those hold a fixed rate, and this one is learnt
and changed while the run goes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# What the API let through in the last WINDOW_SECONDS, times HEADROOM, is the rate after a throttle.
WINDOW_SECONDS = 1.0
HEADROOM = 0.95
# Each PROBE_EVERY_SECONDS without a throttle, the rate rises by PROBE_STEP (up to the cap, if one is set).
PROBE_EVERY_SECONDS = 10.0
PROBE_STEP = 1.01
MIN_RATE = 0.2  # requests/s: a throttle never stops the run outright
LATE_SECONDS = 0.01  # a caller this late to its slot moves the next free slot back: two must not leave together
FIRST_GUESS = 1.0  # requests/s, when the very first answers are throttles: nothing was let through to learn from


class Pacer:
    """Hands out request slots at one shared rate (requests/s); None is no pacing at all. Thread-safe."""

    def __init__(self, requests_per_second: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = requests_per_second
        self.rate = requests_per_second
        self.throttles = 0
        self.requests = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._changed_at = clock()  # the rate was last set (cut or probed) then
        self._cut_at = float("-inf")
        self._rate_before_cut: float | None = None
        self._refine = False  # the cut's estimate is made again once the requests in flight at the cut are answered
        self._let_through: deque[float] = deque()  # when the requests that were not throttled left

    def wait_for_slot(self, halt: threading.Event) -> float:
        """Waits for this caller's slot (returns at once when `halt` is set); returns the moment it may send."""
        start = self.reserve_slot()
        delay = start - self._clock()
        if delay > 0:
            halt.wait(delay)
        with self._lock:
            left = self._clock()
            if self.rate is not None and left - start > LATE_SECONDS:  # late to its slot (busy threads): the
                self._next_slot = max(self._next_slot, left + 1.0 / self.rate)  # later slots move back with it
        # the moment it leaves, not the slot's: a caller that comes late to its slot must not count in the second
        # before a cut (a 100,000-ticket run undercounted so and held 8.55 instead of 9.5 requests/s)
        return left

    def reserve_slot(self) -> float:
        """Takes the next free slot at the current rate and returns when it starts."""
        with self._lock:
            self.requests += 1
            now = self._clock()
            if self._refine and now >= self._paused_until:
                self._refine = False
                self.rate = self._estimate()
            start = max(now, self._next_slot, self._paused_until)
            if self.rate is not None:
                self._next_slot = start + 1.0 / self.rate
            return start

    def answered(self, sent_at: float) -> None:
        """The request sent at `sent_at` was not throttled: counted for estimates; the rate may probe upward."""
        with self._lock:
            now = self._clock()
            self._let_through.append(sent_at)
            while self._let_through[0] < now - 2 * WINDOW_SECONDS:
                self._let_through.popleft()
            if self.rate is None or (self.cap is not None and self.rate >= self.cap):
                return
            if now - self._changed_at >= PROBE_EVERY_SECONDS:
                self.rate = self.rate * PROBE_STEP if self.cap is None else min(self.cap, self.rate * PROBE_STEP)
                self._changed_at = now

    def throttled(self, sent_at: float, retry_after: float | None) -> None:
        """The API throttled a request sent at `sent_at`: everyone waits `retry_after`, and the rate drops once
        for each burst (answers to requests sent before the last cut are the same burst)."""
        with self._lock:
            now = self._clock()
            self.throttles += 1
            if retry_after:
                self._paused_until = max(self._paused_until, now + retry_after)
            if sent_at < self._cut_at:
                return
            self._cut_at = self._changed_at = now
            self._rate_before_cut = self.rate
            self.rate = self._estimate()
            self._refine = True

    def _estimate(self) -> float:
        """Just under the rate the API let through in the window before the last cut, and under the rate then."""
        allowed = sum(1 for x in self._let_through if self._cut_at - WINDOW_SECONDS < x <= self._cut_at) / WINDOW_SECONDS
        known = [x for x in (allowed, self._rate_before_cut) if x]
        return max(MIN_RATE, min(known, default=FIRST_GUESS) * HEADROOM)
