"""How a night's job reads in a terminal: the load's summary table and notes, and the marts' line."""

from __future__ import annotations

from pipelines.deletion_guard import ALWAYS_ALLOWED, SHARE_SETTING
from pipelines.job.pipeline import DATASET_NAME, LOCAL_DESTINATIONS
from pipelines.job.summary import PublishedMarts, RunSummary
from pipelines.usercom import settings
from pipelines.usercom.listing_stats import ListingStats
from pipelines.usercom.run.progress import throttle_text


def summary_lines(summary: RunSummary) -> list[str]:
    """The load's summary as terminal lines."""
    report = summary.report
    out = []
    if summary.resumed_load_ids:
        out.append(f"finished {len(summary.resumed_load_ids)} load package(s) an interrupted run had left "
                   f"({', '.join(summary.resumed_load_ids)}) before extracting")
    out += [f"{'status':<10}{'pages':>7}{'received':>10}{'api count':>11}{'loaded':>9}{'unchanged':>11}{'rejected':>10}"]
    listed = [x for x in report.listings.values() if not x.stopped]
    for x in listed:
        out.append(f"{'all' if x.unfiltered else x.status:<10}{x.pages:>7}{x.received:>10}"
                   f"{x.api_count if x.api_count is not None else '-':>11}{x.kept:>9}{x.skipped_unchanged:>11}"
                   f"{x.rejected:>10}")
    out += _api_notes(summary)
    for x in listed:
        if x.api_count_last is not None and x.api_count is not None and x.api_count_last != x.api_count:
            out.append(f"warning: {x.status}: the API's count changed from {x.api_count} to {x.api_count_last} "
                       "while paging (tickets added or moved meanwhile; the next run picks them up)")
        if x.count_mismatch:
            out.append(f"warning: {x.status}: received {x.received} tickets but the API's count said {x.api_count} "
                       "(tickets changed status while paging; the next run picks them up)")
    loaded = sum(x.kept for x in report.listings.values())
    out.append(f"{loaded} tickets loaded ({summary.new_tickets} new, {loaded - summary.new_tickets} updated or re-read), "
               f"{summary.rejected} rejected, {summary.tickets_after} in total, in {summary.seconds:.1f} s")
    if report.repeated:
        out.append(f"{report.repeated} ticket(s) changed status while paging and were read twice; "
                   "the newest version was kept")
    out += _deletion_lines(summary)
    if summary.rejected:
        out.append(f"rejected tickets are kept with their raw JSON and reason in {DATASET_NAME}.{settings.REJECTS_TABLE}")
    out.append(f"data: {summary.location}" + (f"; parquet: {summary.parquet_dir}" if summary.parquet_dir else ""))
    return out


def marts_lines(marts: PublishedMarts) -> list[str]:
    """The marts step as terminal lines: what was built and tested, and where readers find it."""
    build = marts.build
    where = f"schema {build.schema}" + ("" if marts.destination in LOCAL_DESTINATIONS else f" on {marts.destination}")
    published = f", marts published to {marts.marts_dir} (build {marts.build_id})" if marts.marts_dir else ""
    out = [f"built {len(build.models)} models into {where} as of {build.as_of.isoformat()}, "
           f"{build.tests_passed} data tests passed{published}, in {build.seconds:.1f} s"]
    if marts.snapshot:
        out.append(f"BI snapshot of the marts: {marts.snapshot} (open it read-only; it moves to each build with the marts)")
    return out


def _deletion_lines(summary: RunSummary) -> list[str]:
    out = []
    if summary.deletions_held:
        out.append(f"warning: deletions held: this complete run did not list {summary.deletions_held} of the "
                   f"{summary.live_tickets} live tickets, more than {SHARE_SETTING} = {summary.max_unlisted_share:g} "
                   f"allows (beyond {ALWAYS_ALLOWED} tickets): nothing was marked deleted and the run does not count "
                   "towards the two-run rule. If they really were deleted in User.com, run once with "
                   f"--allow-mass-deletion (or {SHARE_SETTING.upper()}=1); the next complete run marks them"
                   + (f"; {summary.tickets_restored} ticket(s) marked deleted came back" if summary.tickets_restored else ""))
    elif summary.report.complete_run is not None:
        out.append(f"{summary.tickets_deleted} ticket(s) marked deleted (not listed by two complete runs in a row), "
                   f"{summary.tickets_restored} came back")
    else:  # the nightly log says why nothing was marked
        out.append("deletions not checked: this run did not list every status to its end"
                   + (f"; {summary.tickets_restored} ticket(s) marked deleted came back" if summary.tickets_restored else ""))
    if summary.tickets_unlisted:
        out.append(f"{summary.tickets_unlisted} ticket(s) not listed by this run: marked deleted if the next complete "
                   "run does not list them either")
    return out


def _api_notes(summary: RunSummary) -> list[str]:
    """Lines on the API's behaviour this run met and coped with (docs/sandbox.md, quirks of the real API)."""
    report = summary.report
    out = []
    evidence = report.filter_ignored
    if evidence is not None:
        out.append(f"warning: the API ignored the status filter ({evidence.others} of the {evidence.tickets} tickets on the "
                   f"first page of `{evidence.status}` had other statuses): every ticket was listed once, without it, "
                   "instead of once per status")
    for x in report.listings.values():
        if x.ended_on_404:
            out.append(f"note: {'all' if x.unfiltered else x.status}: the last page's `next` link answered 404 after "
                       "every ticket of the API's count was received; taken as the listing's end (a known quirk of the API)")
    throttled = [x for x in report.listings.values() if x.throttled]
    if report.throttles or throttled:
        paced = f"; requests were paced at {report.paced_at:.1f}/s by the end" if report.paced_at else ""
        total = ListingStats(throttled=sum(x.throttled for x in throttled) or report.throttles,
                             throttled_wait=sum(x.throttled_wait for x in throttled))
        each = ", ".join(f"{'all' if x.unfiltered else x.status} {x.throttled}×" for x in throttled)
        out.append(f"{throttle_text(total)}{f' ({each})' if each else ''}: the API throttled {total.throttled} "
                   f"request(s) (429, or 401 after the key was accepted) and each was retried{paced}")
    return out
