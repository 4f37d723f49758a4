"""The errors a build of the marts ends with: each names the cause and what to do."""

from __future__ import annotations


class TransformError(RuntimeError):
    """A build, report or export of the marts that could not be done; the message says why and what to do."""


class RawDataMissing(TransformError):
    """The raw tickets the models read are not there yet (no pipeline run on that destination)."""


class MartsUnsupported(TransformError):
    """The destination is not one the dbt project is written for."""


class DestinationUnavailable(TransformError):
    """dbt could not open or connect to the destination (a DuckDB file it may not open, one another process holds,
    a server it cannot reach); the message names dbt's cause and the fix."""


class ModelFailed(TransformError):
    """dbt could not build a model (or a test could not run); the message names it and dbt's error."""


class DataTestFailed(TransformError):
    """Data tests found offending rows; ``failures`` holds each, the message names them with a few rows."""

    def __init__(self, failures: list) -> None:
        self.failures = failures
        lines = "\n".join(f"- {failure.describe()}" for failure in failures)
        super().__init__(
            f"{len(failures)} data test(s) failed; readers keep the last good build:\n{lines}"
        )
