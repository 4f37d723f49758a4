"""The `usercom-tickets` command line: run, check, transform, report, export, demo, sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pipelines import cli_values
from pipelines.error_text import explain, interruption, signal_of, translated
from pipelines.exit_codes import ExitCode, exit_code_of
from pipelines.job.pipeline import DUCKDB_FILE, LOCAL_DESTINATIONS, data_dir
from pipelines.job.publish import ENGINES
from pipelines.log_setup import configure_logging
from pipelines.run_errors import DestinationFailed, UsageError
from pipelines.run_setup import prepared_run, stop_on_signals, telemetry_off_unless_configured, use_system_allocator
from pipelines.sandbox.arguments import add_sandbox_arguments, iso_timestamp, start_of_today
from pipelines.usercom.settings import STATUSES

if TYPE_CHECKING:
    from pipelines.job.summary import PublishedMarts, RunSummary
    from pipelines.usercom.run.progress import ListingProgress

DEMO_TICKETS = 5000
# what --destination defaults to, in order (pipelines/stored_settings.py)
STORED_DEFAULT = ("the setting usercom.destination (env USERCOM__DESTINATION), else the destination the data directory "
                  "was last loaded into, else duckdb")


class PrintedSteps:
    """The job's steps as the command line prints them: bars (or log lines) while extracting, the summary once the
    load is committed, the marts once published. Remembers what was committed, for the interrupted message."""

    def __init__(self) -> None:
        self.committed: RunSummary | None = None

    @contextmanager
    def extracting(self) -> Iterator[ListingProgress]:
        """Live bars in a terminal, log lines in a pipe."""
        from pipelines.terminal_progress import run_progress

        with run_progress() as progress:
            yield progress

    def loaded(self, summary: RunSummary) -> None:
        """Prints the load's summary."""
        from pipelines.summary_text import summary_lines

        self.committed = summary
        print("\n".join(summary_lines(summary)), flush=True)

    def published(self, marts: PublishedMarts) -> None:
        """Prints what was built and where readers find it."""
        from pipelines.summary_text import marts_lines

        print("\n".join(marts_lines(marts)), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = _parser().parse_args(argv)
    # the process-wide setup of every command, once, before anything loads pyarrow (run_setup.py)
    configure_logging(args.verbose)
    use_system_allocator()
    telemetry_off_unless_configured()
    stop_on_signals()
    args.steps = PrintedSteps()
    try:
        _settled(args)
        return args.command(args)
    except KeyboardInterrupt as interrupt:
        return _interrupted(interrupt, args)
    except Exception as error:  # one clear line, never a traceback, for the nightly job's log
        interrupt = interruption(error)  # dlt hands an interrupt of its steps on inside its own exception
        if interrupt is not None:
            return _interrupted(interrupt, args, error)
        said = translated(error)  # dlt's exceptions said as ours: the cause and the fix
        print(f"error: {explain(said)}", file=sys.stderr)
        if args.verbose:
            raise
        return exit_code_of(said)


def _interrupted(interrupt: KeyboardInterrupt, args: argparse.Namespace, error: BaseException | None = None) -> NoReturn:
    from pipelines.safety_copy import failed_while_loading

    received = signal_of(interrupt)
    steps: PrintedSteps = args.steps
    destination = getattr(args, "destination", None)
    if steps.committed is not None:
        said = (f"the load was committed (run {steps.committed.run_id}, its summary above); this build of the marts "
                "was not: readers keep the last good one")
    elif destination not in (None, *LOCAL_DESTINATIONS) and failed_while_loading(error or interrupt):
        # no safety copy there: each table's merge is a transaction of its own, the interrupted ones rolled back
        said = (f"the load stopped part-way: tables {destination} had merged may hold this run's rows; the next run "
                "loads the rest of it first")
    else:
        said = "nothing of this run was committed, the previous data is intact"
    print(f"error: interrupted ({received.name}); {said}", file=sys.stderr)
    # as a shell reports a process the signal ended; at once: the listings' abandoned threads, dlt's pools and
    # dbt's output readers are not waited for (nor their words printed), the row and the lock being done
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + received)


def _run(args: argparse.Namespace) -> int:
    from pipelines.job import run_job

    result = run_job(
        _data_dir(args), destination=args.destination, statuses=args.statuses, full_refresh=args.full_refresh,
        transform=not args.no_transform, as_of=args.as_of, policy=args.policy, lock_wait_seconds=args.wait_for_lock,
        max_unlisted_share=1.0 if args.allow_mass_deletion else None,
        source_overrides={"allow_insecure_http": True} if args.allow_insecure_http else None, events=args.steps,
    )
    if result.summary.deletions_held:
        return ExitCode.DELETIONS_HELD
    return ExitCode.REJECTED if args.strict and result.summary.rejected else ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    from pipelines.job.file_modes import warn_if_readable_by_others
    from pipelines.usercom.check import check_account
    from pipelines.usercom.source_config import source_settings

    warn_if_readable_by_others(Path.cwd() / ".dlt" / "secrets.toml")  # as a run warns
    settings = source_settings(**({"allow_insecure_http": True} if args.allow_insecure_http else {}))
    report = check_account(settings.client(), args.statuses or settings.statuses)
    print(report.render())
    return ExitCode.OK if report.ok else ExitCode.API


def _transform(args: argparse.Namespace) -> int:
    from pipelines.job.publish import build_and_publish

    directory = _loaded_dir(args)
    with prepared_run(directory, args.wait_for_lock):  # a nightly run may be writing
        args.steps.published(build_and_publish(directory, args.destination, args.as_of,
                                               Path(args.policy) if args.policy else None, engine=args.engine))
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipelines.job.pipeline import make_pipeline
    from transforms.report import render_sla_report

    print(render_sla_report(make_pipeline(_loaded_dir(args), args.destination)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from pipelines.bi_publish import BI_FILE
    from pipelines.marts_export import export_marts
    from transforms.report import MartsNotBuilt

    if args.destination not in LOCAL_DESTINATIONS:
        raise UsageError(f"export writes the local BI snapshot's marts (destinations {', '.join(LOCAL_DESTINATIONS)}); "
                         f"on {args.destination} the marts are tables in schema analytics: query or copy them there")
    snapshot = _data_dir(args) / BI_FILE
    if not snapshot.exists():
        raise MartsNotBuilt(f"no published marts in {snapshot.parent} ({BI_FILE}): run `usercom-tickets run` "
                            "(or `usercom-tickets transform`, `make demo`) first, or pass --data-dir")
    written = export_marts(snapshot, Path(args.out).resolve(), args.format)
    print(f"exported {len(written)} marts as {args.format} to {Path(args.out).resolve()}: "
          f"{', '.join(p.stem for p in written)}")
    return 0


def _loaded_dir(args: argparse.Namespace) -> Path:
    from pipelines.job.preflight import check_destination

    check_destination(args.destination)  # its settings missing is said as such, not as "no data yet"
    directory = _data_dir(args)
    if args.destination in LOCAL_DESTINATIONS and not (directory / DUCKDB_FILE).exists():
        raise DestinationFailed(f"no data in {directory}: run `usercom-tickets run` (or `make demo`) first, or pass --data-dir")
    return directory


def _demo(args: argparse.Namespace) -> int:
    from pipelines.job import run_job
    from pipelines.job.pipeline import make_pipeline
    from pipelines.sandbox import SANDBOX_API_KEY, SandboxOptions, SandboxServer
    from pipelines.sandbox.generate import DEFAULT_NOW
    from transforms.report import render_sla_report

    directory = _data_dir(args)
    with SandboxServer(SandboxOptions(tickets=args.tickets)) as server:
        print(f"sandbox User.com API with {args.tickets} tickets on {server.base_url}", flush=True)
        run_job(directory, destination=args.destination, full_refresh=True, policy=args.policy,
                as_of=args.as_of or DEFAULT_NOW,  # the sandbox's tickets are generated up to this moment
                source_overrides={"api_key": SANDBOX_API_KEY, "base_url": server.base_url}, events=args.steps)
    print(render_sla_report(make_pipeline(directory, args.destination)))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from pipelines.sandbox.arguments import sandbox_options
    from pipelines.sandbox.guide import paste_lines
    from pipelines.sandbox.server import serve

    try:
        options = sandbox_options(args)
    except ValueError as error:
        raise UsageError(str(error)) from None
    serve(options, host=args.host, port=args.port, guide=paste_lines)
    return 0


def _settled(args: argparse.Namespace) -> None:
    """--destination and --policy as given, else as set or as last loaded (pipelines/stored_settings.py)."""
    from pipelines.stored_settings import chosen_destination, chosen_policy

    if "destination" in args:
        args.destination = chosen_destination(_data_dir(args), args.destination)
    if "policy" in args:
        args.policy = chosen_policy(args.policy)


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir).resolve() if args.data_dir else data_dir()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="usercom-tickets", description="User.com helpdesk tickets into DuckDB/Parquet.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    # -v after the subcommand too; SUPPRESS: a subcommand without it keeps the one given before
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="debug logging and full tracebacks")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(command=handler)
        return sub

    def data(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data-dir", help="where outputs go (default: USERCOM_DATA_DIR or ./data)")

    def outputs(sub: argparse.ArgumentParser) -> None:
        data(sub)
        sub.add_argument("--destination",
                         help="duckdb, parquet (DuckDB plus Parquet snapshots under data/parquet/), or any dlt "
                              f"destination name (default: {STORED_DEFAULT})")

    def sla(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--as-of", type=iso_timestamp,
                         help="the moment SLA metrics are computed at (default: the policy file's, else now)")
        sub.add_argument("--policy", help="SLA policy file (default: the setting usercom.policy, env USERCOM__POLICY, "
                                          "else transforms/sla_policy.toml)")

    def marts_destination(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--destination",
                         help=f"where the data was loaded: duckdb, parquet or a dlt destination such as postgres "
                              f"(default: {STORED_DEFAULT})")

    run = command("run", _run, "extract every ticket of the configured account and load it, then build the SLA marts there")
    outputs(run)
    run.add_argument("--statuses", type=cli_values.statuses,
                     help=f"comma-separated subset of {','.join(STATUSES)} (default: all)")
    run.add_argument("--full-refresh", action="store_true", help="ignore the incremental cursors and re-read every ticket")
    run.add_argument("--strict", action="store_true",
                     help=f"exit with code {ExitCode.REJECTED:d} when any ticket was rejected")
    run.add_argument("--wait-for-lock", type=cli_values.seconds, default=0.0, metavar="SECONDS",
                     help="when another run holds the data directory, wait this long for it (default: refuse at once, exit 75)")
    run.add_argument("--allow-insecure-http", action="store_true",
                     help="allow a plain http:// base_url on a non-loopback host (the API key would travel unencrypted)")
    run.add_argument("--allow-mass-deletion", action="store_true",
                     help="believe this run's deletion check however many tickets it did not list (sets "
                          "usercom_max_unlisted_share to 1 for this run; default: more than 0.2 of the live "
                          "tickets unlisted marks none and exits 3)")
    run.add_argument("--no-transform", action="store_true", help="extract and load only; skip the SLA marts")
    sla(run)

    check = command("check", _check, "see what your account's API does (about a dozen requests, nothing written) "
                                     "and whether a run would work; exit 0 when it would")
    check.add_argument("--statuses", type=cli_values.statuses,
                       help=f"comma-separated subset of {','.join(STATUSES)} (default: as configured)")
    check.add_argument("--allow-insecure-http", action="store_true",
                       help="allow a plain http:// base_url on a non-loopback host (the API key would travel unencrypted)")

    transform = command("transform", _transform, "build the SLA marts (schema analytics) and run their data tests (dbt)")
    data(transform)
    marts_destination(transform)
    sla(transform)
    transform.add_argument("--engine", choices=ENGINES, default="destination",
                           help="where the marts are built: on the destination (default), or on a local Apache Spark "
                                "session from the raw Parquet tables of a `run --destination parquet` (the spark "
                                "extra; docs/spark.md)")
    transform.add_argument("--wait-for-lock", type=cli_values.seconds, default=0.0, metavar="SECONDS",
                           help="wait this long for a running job on the same data directory (default: refuse at once)")

    report = command("report", _report, "print the headline SLA table from the built marts")
    data(report)
    marts_destination(report)

    export = command("export", _export, "write every mart of the published BI snapshot as Parquet or CSV files")
    data(export)
    marts_destination(export)
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    export.add_argument("--out", required=True, help="folder for <mart>.<format> (each file replaced atomically)")

    demo = command("demo", _demo, "start the bundled sandbox API in-process, run the pipeline against it, print a summary")
    outputs(demo)
    demo.add_argument("--tickets", type=cli_values.positive_count, default=DEMO_TICKETS,
                      help=f"sandbox tickets (default {DEMO_TICKETS})")
    sla(demo)

    sandbox = command("sandbox", _sandbox, "serve the User.com-compatible sandbox API until Ctrl-C, its history "
                                           "ending today; prints its key and the lines to paste to use it")
    add_sandbox_arguments(sandbox, default_tickets=DEMO_TICKETS, default_now=start_of_today())
    sandbox.add_argument("--port", type=cli_values.port, default=8765, help="TCP port (default 8765; 0: any free one)")
    sandbox.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
