"""The SLA marts on Apache Spark (local mode, pyspark's bundled Spark through dbt-spark's session connection):
the sandbox's tickets loaded once by the real pipeline into a data directory (`--destination parquet`: the raw
tables in DuckDB and as Parquet files), the marts built on Spark from the Parquet files and published, and on
DuckDB from the same load; every mart of the Spark build equals DuckDB's row for row, with a business-hours
schedule on the calendar clock and on the business clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.job.pipeline import make_pipeline
from pipelines.job.publish import build_and_publish
from pipelines.sandbox.generate import DEFAULT_NOW
from tests.conftest import run
from tests.mart_rows import assert_same_rows, without_built_at
from tests.test_postgres import business_clock_policy
from tests.test_transforms import BUSINESS_SCHEDULE, MART_COLUMNS, MARTS
from transforms.build import build_marts
from transforms.policy import DEFAULT_POLICY_PATH

TICKETS = 500
CLOCKS = ("calendar", "business")
# the fixture's two Spark builds: ~2 min each on an idle 2-core machine, far more beside other builds
pytestmark = pytest.mark.timeout(1800)


def calendar_clock_policy(directory: Path) -> Path:
    """The packaged SLA policy with the Europe/Warsaw schedule, on the calendar clock, written to ``directory``."""
    path = directory / "sla_policy_calendar.toml"
    path.write_text(DEFAULT_POLICY_PATH.read_text() + BUSINESS_SCHEDULE)
    return path


def mart_rows(database: Path, mart: str) -> tuple[list[str], list[tuple]]:
    """A mart's column names and rows from a DuckDB file's schema analytics (read-only, instants in UTC)."""
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(f"select * from analytics.{mart}")
        return [d[0] for d in cursor.description], cursor.fetchall()


def parquet_rows(path: Path) -> tuple[list[str], list[tuple]]:
    """A published Parquet mart's column names and rows."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(f"select * from read_parquet('{path}')")
        return [d[0] for d in cursor.description], cursor.fetchall()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Per clock: the Spark build as published (its build info, every mart's Parquet rows) and DuckDB's marts
    of the same load, built one after the other in one data directory."""
    from pipelines.sandbox import SandboxOptions, SandboxServer

    root = tmp_path_factory.mktemp("spark")
    directory = root / "data"
    with SandboxServer(SandboxOptions(tickets=TICKETS)) as server:
        run(server, directory, destination="parquet")
    policies = {"calendar": calendar_clock_policy(root), "business": business_clock_policy(root)}
    out = {}
    for clock in CLOCKS:
        published = build_and_publish(directory, "parquet", DEFAULT_NOW, policies[clock], engine="spark")
        build_info = json.loads((published.marts_dir.resolve().parent / "build.json").read_text())
        spark = {mart: parquet_rows(published.marts_dir / f"{mart}.parquet") for mart in MARTS}
        build_marts(make_pipeline(directory, "duckdb"), as_of=DEFAULT_NOW, policy_path=policies[clock])
        duck = {mart: mart_rows(directory / "tickets.duckdb", mart) for mart in MARTS}
        out[clock] = {"published": published, "build": build_info, "spark": spark, "duckdb": duck}
    return out


@pytest.mark.parametrize("clock", CLOCKS)
def test_every_mart_built_on_spark_equals_the_duckdb_mart_row_for_row(builds, clock):
    spark, duck = builds[clock]["spark"], builds[clock]["duckdb"]
    for mart in MARTS:  # rpt_runs too: both read the same raw run log
        columns, spark_rows = spark[mart]
        duck_columns, duck_rows = duck[mart]
        assert columns == duck_columns == [name for name, _ in MART_COLUMNS[mart]], mart
        assert len(spark_rows) == len(duck_rows) > 0, mart
        assert_same_rows(without_built_at(columns, spark_rows), without_built_at(columns, duck_rows), mart)


def test_the_spark_builds_ran_on_the_business_hours_of_each_clock(builds):
    for clock in CLOCKS:
        columns, tickets = builds[clock]["spark"]["fct_tickets"]
        business = [row[columns.index("first_resolution_business_hours")] for row in tickets]
        calendar = [row[columns.index("first_resolution_hours")] for row in tickets]
        assert 0 < sum(b is not None and b < c for b, c in zip(business, calendar, strict=True)) < len(tickets), clock
    sla = {clock: builds[clock]["spark"]["fct_tickets"] for clock in CLOCKS}
    breaches = {clock: [row[cols.index("sla_breach_at")] for row in rows] for clock, (cols, rows) in sla.items()}
    assert breaches["calendar"] != breaches["business"]  # the business clock moves the breach instants


def test_the_spark_build_is_published_with_every_test_passed_and_the_docs_as_comments(builds):
    published = builds["business"]["published"]
    assert published.build.tests_passed > 20 and "fct_tickets" in published.build.models
    assert builds["business"]["build"]["marts"] == MARTS
    assert builds["business"]["build"]["as_of"] == DEFAULT_NOW.isoformat()
    with duckdb.connect(str(published.snapshot), read_only=True) as con:
        comments = con.execute("select table_name, comment from duckdb_tables() order by 1").fetchall()
        columns = con.execute("select count(*), count(comment) from duckdb_columns() "
                              "where database_name = current_database()").fetchone()
    assert [name for name, _ in comments] == MARTS and all(comment for _, comment in comments)
    assert columns[0] == columns[1] > 0


def test_transform_on_spark_without_the_raw_parquet_tables_says_to_run_a_parquet_load_first(sandbox, tmp_path):
    from tests.test_http_contract import cli

    run(sandbox(tickets=20), tmp_path / "data")  # into DuckDB only: no data/parquet/
    result = cli("transform", "--engine", "spark", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 6, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "parquet/usercom/tickets.parquet does not exist" in line and "run --destination parquet" in line
    assert not (tmp_path / "data" / "spark").exists()  # refused before a Spark session started
