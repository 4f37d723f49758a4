"""Tickets deleted in User.com, marked in `tickets.deleted_at` once two complete runs in a row did not list them.

The API has no deleted-tickets endpoint: a deleted ticket only stops being listed. A live ticket can be missed by
one run too: it moved status while the run paged, out of a listing not read yet into one already read. So the live
tickets a complete run (every status listed to its end, and loaded; counted in dlt state by
usercom/state/listed.py) did not list wait in the table `tickets_unlisted` with that run's number, and the next
complete run marks deleted those it does not list either: `deleted_at` is when that run started. Only candidates of
the complete run just before count: when a run's check was lost (the process died between its load and its check),
nothing is marked on older evidence and the count starts again. A ticket listed again by any run is live again
(`deleted_at` back to null; a changed one comes back null from the merge, an unchanged one is not merged, so it is
set here) and leaves the candidates. A run of some statuses marks nothing and is not one of the two; a failed run
never gets here.

A guard against mass disappearance: a complete run that did not list more than `usercom_max_unlisted_share` of the
live tickets (beyond those the complete run before already missed, and beyond a handful) is not believed. An API
that lists a tenth of an account for a night (a token with a narrower scope, a filter or paging fault) would
otherwise have the next such night mark nine tenths deleted. Such a run marks nothing, adds no candidate and does
not count towards the two-run rule: the candidates of the complete run before carry over as if it had not run;
the tickets it listed are live as in any run. The summary, the run log (`deletions_held`) and the exit code say so.

It reads the ids of the live tickets and writes only the few that change, in one transaction of the destination's
sql_client after the load: a check that fails leaves the marks as they were, and the load stays done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import dlt
import duckdb
import numpy as np
import pyarrow as pa
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.destinations.sql_client import SqlClientBase

from pipelines.deletion_guard import ALWAYS_ALLOWED, MAX_UNLISTED_SHARE, SHARE_SETTING
from pipelines.run_errors import DestinationFailed
from pipelines.usercom import settings as s
from pipelines.usercom.flatten.numpy_arrays import numbers
from pipelines.usercom.run.hints import DELETION_COLUMNS

log = logging.getLogger("usercom.deletions")

_IDS_PER_STATEMENT = 10_000  # ids written into one statement; a check usually writes a handful
_NO_IDS = np.zeros(0, np.int64)


@dataclass
class DeletionCheck:
    """What the check after a run's load changed."""

    marked: int = 0  # tickets marked deleted by this run: two complete runs in a row did not list them
    restored: int = 0  # tickets marked deleted before that this run listed again
    unlisted: int = 0  # live tickets this complete run did not list: marked if the next complete run misses them too
    held: int = 0  # live tickets this complete run did not list, too many to believe: nothing marked (the guard)
    live: int = 0  # live tickets before the check of a complete run


@contextmanager
def destination_session(pipeline: dlt.Pipeline) -> Iterator[SqlJobClientBase | None]:
    """The destination's job client, open for the block (None for a destination without SQL). A run opens one before
    its load and one after: each costs ~20 ms on DuckDB."""
    client = pipeline.destination_client()  # before the first run, on a schema dlt makes for the call
    if not isinstance(client, SqlJobClientBase):
        yield None
        return
    with client:
        yield client


class Deletions:
    """`before_load(client)` before the run loads, then `after_load(client, ...)` once the load is done."""

    def __init__(self, max_unlisted_share: float = MAX_UNLISTED_SHARE) -> None:
        """`max_unlisted_share`: the share of live tickets a complete run may newly leave unlisted (see the guard)."""
        self._deleted_before = _NO_IDS
        self._max_share = max_unlisted_share

    def before_load(self, client: SqlJobClientBase | None) -> None:
        """Remembers which tickets were marked deleted: a changed one listed again comes back unmarked from the
        merge, and still counts as one that came back."""
        if client is not None and _has_columns(client, s.TICKETS_TABLE, [s.DELETED_AT]):
            self._deleted_before = _ids(client.sql_client, f"SELECT id FROM {_table(client, s.TICKETS_TABLE)} "
                                                            f"WHERE {s.DELETED_AT} IS NOT NULL")

    def after_load(self, client: SqlJobClientBase | None, listed: np.ndarray, complete_run: int | None,
                   run_at: datetime) -> DeletionCheck:
        """Marks and unmarks after a run loaded: `listed` is every ticket id it listed (sorted, unique),
        `complete_run` its number when it listed every status to its end (else None), `run_at` its start."""
        try:
            if client is None or not _has_columns(client, s.TICKETS_TABLE, ["id"]):
                return DeletionCheck()  # nothing loaded yet, or a destination without SQL
            _add_missing_columns(client)
            return self._check(client, listed, complete_run, run_at)
        except Exception as error:
            raise DestinationFailed(
                f"the tickets were loaded, but checking for deleted tickets failed ({str(error).splitlines()[0]}); "
                "nothing was marked or unmarked. The next complete run checks again: re-run, and check the "
                "destination if it persists."
            ) from error

    def _check(self, client: SqlJobClientBase, listed: np.ndarray, complete_run: int | None,
               run_at: datetime) -> DeletionCheck:
        sql = client.sql_client
        tickets, unlisted = _table(client, s.TICKETS_TABLE), _table(client, s.UNLISTED_TABLE)
        deleted = _ids(sql, f"SELECT id FROM {tickets} WHERE {s.DELETED_AT} IS NOT NULL")
        back = deleted[_among(deleted, listed)]
        check = DeletionCheck(restored=int(_among(self._deleted_before, listed).sum()))
        if complete_run is not None:
            missing = _ids(sql, f"SELECT id FROM {tickets} WHERE {s.DELETED_AT} IS NULL",
                           keep=lambda live: ~_among(live, listed))
            missed_before = _among(missing, _ids(sql, f"SELECT id FROM {unlisted} WHERE complete_run = {complete_run - 1}"))
            to_mark, waiting = missing[missed_before], missing[~missed_before]
            check.live = int(sql.execute_sql(f"SELECT count(*) FROM {tickets} WHERE {s.DELETED_AT} IS NULL")[0][0])
            if len(waiting) > max(ALWAYS_ALLOWED, self._max_share * check.live):
                check.held = len(missing)
            else:
                check.marked, check.unlisted = len(to_mark), len(waiting)
        if complete_run is None or check.held:
            candidates = _ids(sql, f"SELECT id FROM {unlisted}")
            seen_again = candidates[_among(candidates, listed)]
        with sql.begin_transaction():
            for ids in _chunks(back):
                sql.execute_sql(f"UPDATE {tickets} SET {s.DELETED_AT} = NULL WHERE id IN ({ids})")
            if complete_run is None or check.held:  # the candidates it listed are live; the others wait as they were
                for ids in _chunks(seen_again):
                    sql.execute_sql(f"DELETE FROM {unlisted} WHERE id IN ({ids})")
                if check.held:  # not one of the two: the complete run before stays the last that counted
                    sql.execute_sql(f"UPDATE {unlisted} SET complete_run = {complete_run} "
                                    f"WHERE complete_run = {complete_run - 1}")
                    log.warning("complete run %s did not list %d of %d live tickets: more than %s = %g allows; "
                                "nothing was marked deleted", complete_run, check.held, check.live, SHARE_SETTING,
                                self._max_share)
                return check
            for ids in _chunks(to_mark):
                sql.execute_sql(f"UPDATE {tickets} SET {s.DELETED_AT} = %s WHERE id IN ({ids})", run_at)
            sql.execute_sql(f"DELETE FROM {unlisted}")
            for ids in _chunks(waiting):
                sql.execute_sql(f"INSERT INTO {unlisted} (id, complete_run, unlisted_at) "
                                f"SELECT id, {complete_run}, %s FROM {tickets} WHERE id IN ({ids})", run_at)
        if check.marked or check.unlisted or check.restored:
            log.info("complete run %s: %d ticket(s) marked deleted, %d not listed (marked if the next complete run "
                     "misses them too), %d came back", complete_run, check.marked, check.unlisted, check.restored)
        return check


def _has_columns(client: SqlJobClientBase, table: str, columns: list[str]) -> bool:
    exists, stored = client.get_storage_table(table)
    return exists and all(c in stored for c in columns)


def _add_missing_columns(client: SqlJobClientBase) -> None:
    """Has dlt create `tickets.deleted_at` and `tickets_unlisted` where they are missing: a destination loaded before
    they existed (dlt adds columns only to tables a load writes, so a run with nothing changed would not)."""
    stored = dict(client.get_storage_tables(DELETION_COLUMNS))
    missing = [table for table, columns in DELETION_COLUMNS.items() if not set(columns) <= set(stored[table])]
    if missing:
        client.update_stored_schema(only_tables=missing, force=True)


def _table(client: SqlJobClientBase, name: str) -> str:
    return client.sql_client.make_qualified_table_name(name)


def _ids(sql: SqlClientBase, query: str, keep: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The BIGINT ids a query selects (its first column, each id once), sorted, read in Arrow batches of 100,000;
    with `keep`, only those of each batch it marks true: the live tickets of a run are filtered batch by batch
    (at 1,000,000 tickets the whole column held at once was 8 MB more at the end of the load)."""
    parts = [_NO_IDS]
    for batch in _first_column(sql, query):
        ids = numbers(batch.cast(pa.int64()), np.int64)
        parts.append(ids[keep(ids)] if keep else ids.copy())
    ids = np.concatenate(parts)
    ids.sort()
    return ids


def _first_column(sql: SqlClientBase, query: str, rows: int = 100_000) -> Iterator[pa.Array]:
    """The first column of a query's result, `rows` at a time. On DuckDB through its relation API, which streams:
    dlt's DB-API cursor there holds the whole result twice (12 MB more at 1,000,000 ids)."""
    native = sql.native_connection
    if isinstance(native, duckdb.DuckDBPyConnection):
        relation = native.sql(query)
        reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch  # DuckDB before 1.5
        for batch in reader(rows):
            yield batch.column(0)
        return
    with sql.execute_query(query) as cursor:
        for table in cursor.iter_arrow(chunk_size=rows):
            yield from table.column(0).chunks


def _among(values: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Which of `values` are in `sorted_ids`, by binary search: no merged copy of both (np.isin's), which at
    1,000,000 tickets would be 16 MB more."""
    if not len(sorted_ids):
        return np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return sorted_ids[at] == values


def _chunks(ids: np.ndarray) -> Iterator[str]:
    """`ids` as comma-separated literals (integers from our own arrays), a bounded number per statement."""
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        yield ",".join(map(str, ids[start:start + _IDS_PER_STATEMENT].tolist()))
