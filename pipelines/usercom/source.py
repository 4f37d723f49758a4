"""The dlt source `usercom`: its settings (source_config.py) resolved by dlt, one client, one resource per ticket
status (all writing the same tables). The map of the extract layer is in this package's `__init__.py`."""

from __future__ import annotations

import dlt

from pipelines.usercom import settings as s
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.http.status_filter import StatusFilterCheck
from pipelines.usercom.run.hints import declare_deletion_columns
from pipelines.usercom.run.listing import RunContext, status_resource
from pipelines.usercom.run.progress import ListingProgress, LogProgress
from pipelines.usercom.run.report import RunReport
from pipelines.usercom.source_config import UsercomSettings
from pipelines.usercom.state.tracker import RunTracker


@dlt.source(name="usercom", spec=UsercomSettings)
def usercom(
    settings: UsercomSettings = None,
    full_refresh: bool = False,
    report: RunReport | None = None,
    progress: ListingProgress | None = None,
) -> list:
    """User.com tickets of the configured statuses, flattened to Arrow tables and merged on ticket id.

    Args:
        settings: the `sources.usercom` settings (source_config.py); resolved by dlt when not given, or
            `source_settings(base_url=..., ...)` for explicit values.
        full_refresh: ignore the incremental cursors and re-read every ticket.
        report: filled in with per-status figures while the source runs.
        progress: told each listing's figures as it goes (default: log lines).
    """
    client = settings.client()
    statuses = settings.statuses
    run = RunContext(
        RunTracker(listings=len(statuses)),
        # every first page is in before any listing flattens; past the wait, a listing decides on what it has
        StatusFilterCheck(statuses, wait_seconds=min(
            settings.max_total_wait_seconds + settings.request_timeout_seconds, s.FILTER_CHECK_WAIT_SECONDS)),
        progress or LogProgress(),
        PageReader() if client.columnar else None,
    )
    report = report if report is not None else RunReport()
    report.pacer = client.pacer
    declare_deletion_columns(dlt.current.source_schema())
    return [status_resource(status, client, run, full_refresh, report) for status in statuses]
