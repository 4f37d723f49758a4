"""What a run remembers while it pages: the tracker of emitted versions, each listing's version log, and every id
it listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from pipelines.usercom.state.cursor import VERSIONS_KEY
from pipelines.usercom.state.growing_column import GrowingColumn
from pipelines.usercom.state.listed import COMPLETE_RUNS_KEY, ListedTickets, count_complete_run
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.state.versions import VersionLog
from pipelines.usercom.times import to_micros

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def micros(minutes: int) -> int:
    return to_micros(T0 + timedelta(minutes=minutes))


def test_stale_positions_are_exact_for_list_lengths_past_one_byte():
    tracker = RunTracker(listings=2)
    # ticket 1: 300 then 256 segments; ticket 2: 1000 then 3; ticket 3: 255 then 400 (newer is longer: nothing stale)
    tracker.record([1, 2, 3, 4], [micros(0)] * 4, {"tickets__segments": np.array([300, 1000, 255, 7], np.int32)})
    tracker.record([3, 1, 2], [micros(5)] * 3, {"tickets__segments": [400, 256, 3]})
    assert tracker.stale_positions() == {"tickets__segments": [
        (1, micros(5), range(256, 300)), (2, micros(5), range(3, 1000))]}
    assert tracker.repeated_tickets() == 3


def test_a_table_first_seen_on_a_later_page_counts_earlier_tickets_as_empty():
    tracker = RunTracker(listings=1)
    tracker.record([1], [micros(5)], {})
    tracker.record([1], [micros(0)], {"tickets__attachments": [2]})
    # the older version had 2 attachments, the newest none
    assert tracker.stale_positions() == {"tickets__attachments": [(1, micros(5), range(0, 2))]}


def test_no_repeats_no_tombstones():
    tracker = RunTracker(listings=1)
    tracker.record(np.arange(1000), np.full(1000, micros(0)), {"tickets__segments": np.full(1000, 300)})
    assert tracker.stale_positions() == {} and tracker.repeated_tickets() == 0


def test_forgetting_versions_before_the_cursor_saves_the_same_state():
    pages = [(np.arange(i * 100, i * 100 + 100), np.array([micros(m) for m in range(i * 100, i * 100 + 100)]))
             for i in range(5)]
    whole, forgetful = VersionLog(), VersionLog()
    for number, (ids, stamps) in enumerate(pages):
        whole.add(ids, stamps)
        forgetful.add(ids, stamps)
        if number == 2:
            forgetful.forget_before(T0 + timedelta(minutes=250))
    assert forgetful.newest() == whole.newest() == micros(499)
    final = T0 + timedelta(minutes=430)  # later than the cursor when it forgot
    state_whole, state_forgetful = {}, {}
    whole.save(state_whole, final)
    forgetful.save(state_forgetful, final)
    assert state_forgetful == state_whole
    assert sorted(int(i) for i in state_whole[VERSIONS_KEY]) == list(range(430, 500))


def test_forgetting_keeps_every_version_at_or_after_the_cursor():
    log = VersionLog()
    log.add([1, 2, 3], [micros(0), micros(10), micros(20)])
    log.forget_before(T0 + timedelta(minutes=10))
    log.forget_before(None)  # no cursor yet: nothing is dropped
    state = {}
    log.save(state, T0)
    assert state[VERSIONS_KEY] == {"2": micros(10), "3": micros(20)}


def test_growing_column_keeps_every_value_across_growth_and_compaction():
    column = GrowingColumn(np.int64, length=3)  # started late: three earlier rows count as zeros
    pages = [np.arange(start, start + 997) for start in range(0, 20_000, 997)]
    for page in pages:
        column.extend(page)
    expected = np.concatenate([np.zeros(3, np.int64)] + pages)
    assert len(column) == len(expected) and np.array_equal(column.values(), expected)
    column.keep(column.values() % 7 == 0)
    column.pad(2)
    assert np.array_equal(column.values(), np.concatenate([expected[expected % 7 == 0], [0, 0]]))


def test_tracker_pages_past_the_first_buffer_find_repeats_at_both_ends():
    tracker = RunTracker(listings=1)
    for start in range(0, 12_000, 100):
        ids = np.arange(start, start + 100)
        tracker.record(ids, np.full(100, micros(0)), {"tickets__segments": np.full(100, 2)})
    tracker.record([0, 11_999], [micros(1)] * 2, {"tickets__segments": [1, 0]})
    assert tracker.stale_positions() == {"tickets__segments": [(0, micros(1), range(1, 2)), (11_999, micros(1), range(0, 2))]}
    assert tracker.repeated_tickets() == 2


def test_listed_ids_come_back_once_each_and_sorted_and_the_column_starts_again():
    listed = ListedTickets()
    listed.add(np.array([9, 3, 5], np.int64))
    listed.add(np.array([], np.int64))
    listed.add(np.arange(5000, 0, -1, dtype=np.int64))  # past the first buffer; 3, 5 and 9 read again
    assert listed.take().tolist() == list(range(1, 5001))
    listed.add(np.array([7], np.int64))
    assert listed.take().tolist() == [7]


def test_complete_runs_are_counted_in_every_listing_state_from_the_highest():
    states = [{}, {COMPLETE_RUNS_KEY: 4}, {COMPLETE_RUNS_KEY: 3}]  # a listing whose state was lost starts at 0
    assert count_complete_run(states) == 5
    assert [state[COMPLETE_RUNS_KEY] for state in states] == [5, 5, 5]
