"""What a night's job tells its caller while it runs: listing progress during the extract, the load's summary once
it is committed, the marts once published. The command line prints them; by default nothing is printed (the
source logs its progress) and the caller reads the `JobResult`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from pipelines.job.summary import PublishedMarts, RunSummary
from pipelines.usercom.run.progress import ListingProgress, LogProgress


class JobEvents(Protocol):
    """Receives a job's steps as they happen."""

    def extracting(self) -> AbstractContextManager[ListingProgress]:
        """Held over the extract and load; yields what is told each listing's figures."""

    def loaded(self, summary: RunSummary) -> None:
        """The load (and its deletion check) is committed; `summary` holds its figures."""

    def published(self, marts: PublishedMarts) -> None:
        """The marts were built, tested and published."""


class QuietEvents:
    """The default: progress as the source's log lines, nothing else."""

    @contextmanager
    def extracting(self) -> Iterator[ListingProgress]:
        """Log lines for progress."""
        yield LogProgress()

    def loaded(self, summary: RunSummary) -> None:
        """Nothing to say: the result holds the summary."""

    def published(self, marts: PublishedMarts) -> None:
        """Nothing to say: the result holds the marts."""
