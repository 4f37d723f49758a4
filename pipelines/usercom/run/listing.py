"""One status listing as a dlt resource: pages fetched, flattened and handed to dlt in items, its cursor moved.

The listings of a run share a `RunContext`: the run's tracker, the status filter check, progress, the JSON reader and
the flattener.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import dlt

from pipelines.usercom import settings as s
from pipelines.usercom.flatten.column_types import TypeRegistry
from pipelines.usercom.flatten.flattener import PageFlattener
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.flatten.tables import TableBatcher
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.status_filter import StatusFilterCheck
from pipelines.usercom.pages.pagination import iter_pages
from pipelines.usercom.run.hints import with_hints
from pipelines.usercom.run.memory import return_freed_memory
from pipelines.usercom.run.progress import ListingProgress
from pipelines.usercom.run.report import RunReport
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.listed import count_complete_run
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.state.versions import VersionLog

log = logging.getLogger("usercom.source")


class RunContext:
    """What the status resources of one run share; built on first use, inside the pipeline's extract."""

    def __init__(self, tracker: RunTracker, filter_check: StatusFilterCheck, progress: ListingProgress,
                 reader: PageReader | None) -> None:
        self.tracker = tracker
        self.filter_check = filter_check
        self.progress = progress
        self.reader = reader  # None: every page parsed to JSON, flattened row by row
        self._flattener: PageFlattener | None = None
        self._lock = threading.Lock()

    def flattener(self) -> PageFlattener:
        """The run's flattener, its column types seeded from the pipeline's stored schema."""
        with self._lock:
            if self._flattener is None:
                schema = dlt.current.source_schema()
                self._flattener = PageFlattener(
                    TypeRegistry.from_dlt_schema(schema.tables), self.tracker,
                    # tombstones for emptied lists matter only when earlier rows may exist
                    tombstone_empty_lists=s.TICKETS_TABLE in schema.tables,
                    observed_at=datetime.now(UTC),
                    naming=schema.naming,  # columns are named as dlt will store them
                )
            return self._flattener


def _resource_name(status: str) -> str:
    return f"tickets_{status}"


def status_resource(status: str, client: TicketsClient, run: RunContext, full_refresh: bool, report: RunReport):
    """The dlt resource `tickets_<status>`: the listing of one status, writing the `tickets` tables."""
    def tickets_of_status() -> Iterator:
        states = [dlt.current.resource_state()]  # the listings whose cursor this one reads and moves
        cursor = UpdatedSince.from_state(states[0], full_refresh)
        versions = VersionLog()
        flattener = run.flattener()
        tracker = run.tracker
        listing = report.listing(status)
        label = status
        batcher = TableBatcher()
        returned_at = 0  # listing.pages when freed memory last went back to the OS

        def arrived() -> None:  # on the read-ahead thread, as each page arrives
            run.progress.update("all" if listing.unfiltered else status, listing)

        for page in iter_pages(client, status, listing, run.filter_check, run.reader, arrived):
            if listing.unfiltered and label == status:  # the first page of the run's one listing of every ticket
                label = "all"
                report.filter_ignored = run.filter_check.evidence
                states = [dlt.current.resource_state(_resource_name(x)) for x in run.filter_check.statuses]
                cursor = UpdatedSince.oldest(UpdatedSince.from_state(x, full_refresh) for x in states)
            # a listing of every ticket, in a run of some statuses, keeps only theirs
            subset = listing.unfiltered and set(run.filter_check.statuses) != set(s.STATUSES)
            tracker.saw_server_time(page.server_time)
            flat = flattener.flatten_page(page, listing=label, cursor=cursor, versions=versions,
                                          only=frozenset(run.filter_check.statuses) if subset else None)
            report.listed.add(flat.listed_ids)
            listing.kept += flat.kept
            listing.skipped_unchanged += flat.skipped_unchanged
            listing.rejected += flat.rejected
            listing.pages_row_by_row += 0 if flat.columnar else page.pages
            for table, arrow_table in batcher.add(flat.tables):
                yield with_hints(table, arrow_table)
            if listing.pages - returned_at >= s.RETURN_MEMORY_EVERY_PAGES:
                versions.forget_before(tracker.cursor(newest_seen=versions.newest()))
                return_freed_memory()
                returned_at = listing.pages
        for table, arrow_table in batcher.flush():
            yield with_hints(table, arrow_table)
        run.progress.finish(label, listing)
        listing.finished = True
        report.throttles, report.paced_at = client.pacer.throttles, client.pacer.rate
        if listing.count_mismatch:
            log.warning("%s: received %d tickets but the API's count said %s", label, listing.received, listing.api_count)
        if tracker.finish_listing():
            report.repeated = tracker.repeated_tickets()
            for table, arrow_table in flattener.tombstones(tracker.stale_positions()).items():
                yield with_hints(table, arrow_table)
            if set(run.filter_check.statuses) == set(s.STATUSES):  # every status listed to its end: deletions can be judged
                report.complete_run = count_complete_run(dlt.current.resource_state(_resource_name(x)) for x in s.STATUSES)
        if not listing.stopped:  # a stopped listing read nothing: the run's listing of every ticket moves its cursor
            # committed with this load only: a failed run keeps the previous cursor
            new_cursor = tracker.cursor(newest_seen=versions.newest())
            for state in states:
                versions.save(state, new_cursor)
        return_freed_memory()  # what the listing, its tombstones and version log took, before DuckDB loads

    return dlt.resource(
        tickets_of_status, name=_resource_name(status), table_name=s.TICKETS_TABLE, parallelized=True,
    )
