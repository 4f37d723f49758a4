"""Build the SLA marts on a pipeline's destination: the dbt project run by dlt's dbt runner with the
SLA policy as vars, every data test with it, and on success the build put in front of readers."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dlt

from transforms import warehouse
from transforms.dbt_runner import DBTProcessingError, DbtRun, failed_nodes, node_name
from transforms.errors import DataTestFailed, DestinationUnavailable, ModelFailed, RawDataMissing
from transforms.policy import dbt_env, dbt_vars, load_policy, needs_first_year, with_holiday_years

SAMPLE_ROWS = 5
RAW_TABLE_MISSING = "not found: run the pipeline first"  # select_raw_columns' error for a required raw table


@dataclass(frozen=True)
class BuildResult:
    """What a build did: models built, data tests passed, the as_of used, where the marts are, wall time."""

    models: list[str]
    tests_passed: int
    as_of: datetime
    schema: str
    seconds: float


@dataclass(frozen=True)
class TestFailure:
    """A data test that returned rows: how many, and the first few of them as column=value dicts."""

    __test__ = False  # not a pytest class

    name: str
    row_count: int
    samples: tuple[dict[str, object], ...]

    def describe(self) -> str:
        """One line: the test, its row count and up to five offending rows."""
        shown = "; ".join("(" + ", ".join(f"{k}={v!r}" for k, v in row.items()) + ")" for row in self.samples)
        rows = "row" if self.row_count == 1 else "rows"
        return f"{self.name}: {self.row_count} offending {rows}" + (f", e.g. {shown}" if shown else "")


def build_marts(pipeline: dlt.Pipeline, *, as_of: datetime | None = None,
                policy_path: Path | None = None) -> BuildResult:
    """Build and test every model on ``pipeline``'s destination, reading its raw dataset.

    ``as_of`` overrides the policy file's; ``policy_path`` defaults to the packaged ``sla_policy.toml``.
    Raises :class:`DataTestFailed` (naming each test and a few offending rows) when a test fails,
    :class:`ModelFailed` when dbt cannot build a model, :class:`RawDataMissing` before the first load,
    ``MartsUnsupported`` on a destination the project is not written for. On a failure readers keep
    the last good build.
    """
    started = time.perf_counter()
    destination = warehouse.destination_type(pipeline)
    warehouse.check_supported(destination)
    policy = load_policy(policy_path, as_of)
    _check_raw_tickets(pipeline)
    if needs_first_year(policy):
        policy = with_holiday_years(policy, first_ticket_year(pipeline))
    target = warehouse.build_schema(destination)
    if target != warehouse.MARTS_SCHEMA:
        warehouse.drop_build_schema(pipeline)

    run = DbtRun(pipeline)
    try:
        run.build(target, {"usercom_schema": pipeline.dataset_name, **dbt_vars(policy)}, dbt_env(policy))
    except DBTProcessingError as error:
        raise explain_failure(pipeline, run, error) from None
    if target != warehouse.MARTS_SCHEMA:
        warehouse.swap_in(pipeline, destination)

    return build_result(run.results(), policy.as_of, started)


def build_result(results: list[dict], as_of: datetime, started: float) -> BuildResult:
    """What a build that began at ``started`` (``time.perf_counter()``) did, from its node results."""
    return BuildResult(
        models=[node_name(r) for r in results if r["unique_id"].startswith("model.")],
        tests_passed=sum(r["unique_id"].startswith("test.") and r["status"] == "pass" for r in results),
        as_of=as_of,
        schema=warehouse.MARTS_SCHEMA,
        seconds=round(time.perf_counter() - started, 3),
    )


def _check_raw_tickets(pipeline: dlt.Pipeline) -> None:
    """Raise RawDataMissing before dbt starts when the raw tickets cannot be there; on a local DuckDB
    only the file is checked, dbt tells a missing table (see ``explain_failure``): opening DuckDB here
    would hold ~35 MB of its libraries in this process while dbt runs."""
    path = warehouse.duckdb_path(pipeline)
    if path is not None:
        if not path.exists():
            raise RawDataMissing(f"{path} does not exist: run the pipeline first (usercom-tickets run)")
        return
    try:
        with warehouse.read_only_cursor(pipeline) as query:
            query(f'select 1 from "{pipeline.dataset_name}"."tickets" where 1 = 0')
    except Exception:  # noqa: BLE001 (each engine has its own "no such table" error)
        raise _raw_tickets_missing(pipeline) from None


def first_ticket_year(pipeline: dlt.Pipeline) -> int | None:
    """The UTC year of the earliest raw ticket's creation (None without tickets or a raw table yet), for the
    years a country calendar is expanded for. One aggregate over one column: 40 ms at 1,000,000 tickets on
    DuckDB, which then keeps ~35 MB of its libraries in this process (only with a country calendar)."""
    try:
        with warehouse.read_only_cursor(pipeline) as query:
            _, rows = query(f'select min(created_at) from "{pipeline.dataset_name}"."tickets"')
    except Exception:  # noqa: BLE001 (no raw table yet: dbt names it; each engine has its own error)
        return None
    first = rows[0][0] if rows else None
    return first.year if first is not None else None


def _raw_tickets_missing(pipeline: dlt.Pipeline) -> RawDataMissing:
    path = warehouse.duckdb_path(pipeline)
    where = f"{path}" if path else f"the {warehouse.destination_type(pipeline)} destination"
    return RawDataMissing(
        f"raw table {pipeline.dataset_name}.tickets not found in {where}: run the pipeline first (usercom-tickets run)"
    )


def explain_failure(pipeline: dlt.Pipeline, run: DbtRun, error: DBTProcessingError, query=None) -> Exception:
    """The failed tests with a few offending rows each, else the first model dbt could not build; the rows
    through ``query(sql) -> (column names, rows)`` where given, else on the pipeline's destination."""
    failed = failed_nodes(run.results())
    tests = [r for r in failed if r["unique_id"].startswith("test.") and r["status"] == "fail"]
    if tests:
        with nullcontext(query) if query is not None else warehouse.read_only_cursor(pipeline) as query:
            return DataTestFailed([_sample(query, result) for result in tests])
    if failed:
        first = failed[0]
        message = " ".join(str(first.get("message") or "").split())
        if RAW_TABLE_MISSING in message and f"{pipeline.dataset_name}.tickets" in message:
            return _raw_tickets_missing(pipeline)
        return ModelFailed(f"dbt could not build {node_name(first)}: {message}")
    cause = " ".join(str(error.dbt_results or error).split())
    unavailable = _unavailable(pipeline, cause)
    if unavailable is not None:
        return unavailable
    return ModelFailed(f"dbt build failed before running a model: {cause} (dbt's log: {run.log_file()})")


# dbt's words when the DuckDB file cannot be opened: the cause, and what to do about it
_DUCKDB_HELD = "Could not set lock on file"
_DUCKDB_UNOPENABLE = ("Cannot open file", "Permission denied", "Operation not permitted", "Read-only file system")


def _unavailable(pipeline: dlt.Pipeline, cause: str) -> DestinationUnavailable | None:
    """The error for a destination dbt could not open, naming dbt's cause and the fix; None for another failure."""
    path = warehouse.duckdb_path(pipeline)
    kept = "nothing was built, readers keep the last good build"
    if path is not None and _DUCKDB_HELD in cause:
        return DestinationUnavailable(
            f"dbt could not open {path}: {cause}; {kept}. Another process holds it open for writing (DuckDB allows "
            "one writer): close it (a notebook, a BI tool, a `duckdb` shell), then run `usercom-tickets transform`.")
    if path is not None and any(words in cause for words in _DUCKDB_UNOPENABLE):
        return DestinationUnavailable(
            f"dbt could not open {path}: {cause}; {kept}. Make it readable and writable for this user (`ls -l {path}`; "
            f"an immutable flag stops root too: `lsattr {path}`, `chattr -i`), then run `usercom-tickets transform`.")
    return None


def _sample(query, result: dict) -> TestFailure:
    """A failed test's offending-row count and first rows, from its compiled SQL."""
    sql = result["compiled_code"].strip().rstrip(";")
    columns, rows = query(f"select * from ({sql}) as offending limit {SAMPLE_ROWS}")
    count = int(result.get("failures") or len(rows))
    return TestFailure(node_name(result), count, tuple(dict(zip(columns, row, strict=True)) for row in rows))
