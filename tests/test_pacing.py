"""The run's shared request rate (pipelines/usercom/http/pacing.py), on a clock the test moves by hand.

The pipeline-level behaviour (few 429s against a sandbox that limits requests, a cap that is never
passed) is in tests/test_api_quirks.py; here the rules themselves: the cut, the pause, one cut per burst,
the second look at the estimate, the probe and the cap.
"""

from __future__ import annotations

import threading

import pytest

from pipelines.usercom.http.pacing import FIRST_GUESS, HEADROOM, PROBE_EVERY_SECONDS, PROBE_STEP, Pacer


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def let_through(pacer: Pacer, clock: Clock, requests: int, every: float) -> list[float]:
    """`requests` requests sent `every` seconds apart and answered at once; returns when each left."""
    sent = []
    for _ in range(requests):
        clock.now = max(clock.now, pacer.reserve_slot())
        sent.append(clock.now)
        pacer.answered(clock.now)
        clock.now += every
    return sent


def test_without_a_cap_and_without_throttling_no_request_waits():
    clock = Clock()
    pacer = Pacer(clock=clock)
    assert [pacer.reserve_slot() for _ in range(50)] == [clock.now] * 50
    assert pacer.rate is None


def test_a_throttle_holds_everyone_for_retry_after_then_paces_just_under_what_was_let_through():
    clock = Clock()
    pacer = Pacer(clock=clock)
    let_through(pacer, clock, 10, every=0.003)  # ten in 30 ms, as an unpaced first burst goes
    pacer.throttled(sent_at=clock.now, retry_after=1.0)
    assert pacer.rate == pytest.approx(10 * HEADROOM)
    slots = [pacer.reserve_slot() for _ in range(3)]
    assert slots[0] == pytest.approx(clock.now + 1.0)  # nobody sends before Retry-After is over
    assert slots[1] - slots[0] == pytest.approx(1 / (10 * HEADROOM))


def test_answers_of_one_burst_cut_the_rate_once():
    clock = Clock()
    pacer = Pacer(clock=clock)
    sent = let_through(pacer, clock, 10, every=0.01)
    in_flight = sent[-1]
    pacer.throttled(sent_at=clock.now, retry_after=None)
    rate = pacer.rate
    for _ in range(3):  # the other listings' requests, sent before the cut, come back throttled too
        pacer.throttled(sent_at=in_flight, retry_after=None)
    assert pacer.rate == rate and pacer.throttles == 4


def test_requests_in_flight_at_the_cut_are_counted_once_they_are_answered():
    clock = Clock()
    pacer = Pacer(clock=clock)
    let_through(pacer, clock, 7, every=0.01)
    late = [clock.now - 0.005] * 3  # three left before the cut; their answers come after it
    pacer.throttled(sent_at=clock.now, retry_after=1.0)
    assert pacer.rate == pytest.approx(7 * HEADROOM)
    for moment in late:
        pacer.answered(moment)
    clock.now += 1.0
    pacer.reserve_slot()  # the first slot after the pause looks again
    assert pacer.rate == pytest.approx(10 * HEADROOM)


def test_the_rate_probes_upward_slowly_while_nothing_is_throttled_and_never_past_a_cap():
    clock = Clock()
    pacer = Pacer(clock=clock)
    let_through(pacer, clock, 10, every=0.01)
    pacer.throttled(sent_at=clock.now, retry_after=None)
    held = pacer.rate
    let_through(pacer, clock, 31, every=PROBE_EVERY_SECONDS / 10)  # three probe periods without a throttle
    assert pacer.rate == pytest.approx(held * PROBE_STEP ** 3)

    capped = Pacer(requests_per_second=5.0, clock=clock)
    let_through(capped, clock, 60, every=1.0)
    assert capped.rate == 5.0


def test_a_cap_paces_from_the_first_request_and_a_throttle_still_lowers_it():
    clock = Clock()
    pacer = Pacer(requests_per_second=4.0, clock=clock)
    slots = [pacer.reserve_slot() for _ in range(4)]
    assert [b - a for a, b in zip(slots, slots[1:], strict=False)] == pytest.approx([0.25] * 3)
    clock.now = slots[-1]
    pacer.answered(clock.now)
    pacer.throttled(sent_at=clock.now, retry_after=None)
    assert pacer.rate < 4.0


def test_throttled_before_anything_got_through_it_starts_from_a_first_guess():
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.throttled(sent_at=clock.now, retry_after=2.0)
    assert pacer.rate == pytest.approx(FIRST_GUESS * HEADROOM)
    assert pacer.reserve_slot() == pytest.approx(clock.now + 2.0)


def test_a_caller_late_to_its_slot_moves_the_next_slot_back_so_two_never_leave_together():
    moments = iter([100.0, 100.0, 100.0, 100.05, 100.06])  # made, slot taken, no wait, left 50 ms late, next slot
    pacer = Pacer(requests_per_second=10.0, clock=lambda: next(moments))
    halt = threading.Event()
    halt.set()
    assert pacer.wait_for_slot(halt) == 100.05
    assert pacer.reserve_slot() == pytest.approx(100.15)  # not 100.1: a tenth of a second after the late one left
