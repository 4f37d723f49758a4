"""The command line's logging: one format for the project's lines and dlt's, and nothing at the default level that
the user cannot act on.

dlt logs through its own logger `dlt` with a handler and format of its own (set from `runtime.log_format` each time
it reads its configuration). Given a handler before that, dlt keeps it: the one here hands dlt's records to the root
logger's handlers, so they share its format and follow the stream the live bars point it at
(terminal_progress.py). dlt's notices that ask nothing of the user go to DEBUG, shown with `-v`.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s %(name)s: %(message)s"

# dlt's lines at WARNING or above that the user cannot act on, by the words they start with or hold
DLT_NOTICES = (
    "ADBC driver for postgresql was not installed",  # parquet falls back to insert statements on PostgreSQL
    "for `loader_file_format` is not supported for table",  # ... and says so again per table
    "in state differs from destination",  # the data directory was last loaded elsewhere; this run's destination wins
    "Shutdown of dlt thread pool",  # a pool's threads outlived its 2 s join; dlt waits for them at exit
)


class _ToRootHandlers(logging.Handler):
    """Hands dlt's records to the root logger's handlers (dlt sets `propagate = False` on its logger)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Passes `record` on to the root logger's handlers."""
        logging.getLogger().handle(record)


class _DemoteNotices(logging.Filter):
    """dlt's notices (`DLT_NOTICES`) become DEBUG records, dropped unless `verbose`."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a notice when not verbose; a notice shown at -v says DEBUG."""
        if record.levelno < logging.WARNING or not any(words in record.getMessage() for words in DLT_NOTICES):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.verbose


def configure_logging(verbose: bool) -> None:
    """Root handler on stderr in `FORMAT` (WARNING), the project's `usercom` loggers at INFO (DEBUG with `verbose`),
    dlt's records through the same handler, its notices at DEBUG."""
    logging.basicConfig(level=logging.WARNING, format=FORMAT, stream=sys.stderr)
    logging.getLogger("usercom").setLevel(logging.DEBUG if verbose else logging.INFO)
    dlt_logger = logging.getLogger("dlt")
    for handler in list(dlt_logger.handlers):  # dlt keeps the first handler it finds: ours, alone
        dlt_logger.removeHandler(handler)
    handler = _ToRootHandlers()
    handler.addFilter(_DemoteNotices(verbose))
    dlt_logger.addHandler(handler)
