"""The SLA marts on a real PostgreSQL 15: the sandbox's tickets loaded by the real pipeline into
PostgreSQL and into DuckDB build the same marts row for row (on the business clock, with a
business-hours schedule); the hand-worked business-hours values of tests/test_transforms.py hold there
too; the command line builds, reports and refuses there; a failing data test leaves the marts readers
see as they were.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest

from pipelines.job.pipeline import make_pipeline
from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.sandbox.generate import DEFAULT_NOW
from tests.conftest import run
from tests.mart_rows import BUILT_AT, assert_same_rows, without_built_at
from tests.test_http_contract import cli
from tests.test_transforms import (
    AROUND_THE_CLOCK_POLICY,
    AROUND_THE_CLOCK_TICKETS,
    BUSINESS_POLICY,
    BUSINESS_SCHEDULE,
    BUSINESS_TICKETS,
    LOADED_AT,
    MART_COLUMNS,
    MARTS,
    MIDNIGHT_SCHEDULE,
    MIDNIGHT_TICKETS,
    POLICY,
    check_around_the_clock_marts,
    check_business_marts,
    check_midnight_marts,
    write_raw_tables,
)
from tests.test_transforms import rows as duckdb_rows
from transforms.build import build_marts
from transforms.errors import DataTestFailed
from transforms.policy import DEFAULT_POLICY_PATH

TICKETS = 700
DELETED_AT = "2024-05-20T00:00:00+00:00"  # before as_of (DEFAULT_NOW), so the marts count the deletions


def business_clock_policy(directory: Path) -> Path:
    """The packaged SLA policy on the business clock with the Europe/Warsaw schedule, written to ``directory``."""
    packaged = DEFAULT_POLICY_PATH.read_text()
    path = directory / "sla_policy.toml"
    path.write_text(packaged.replace('sla_clock = "calendar"', 'sla_clock = "business"') + BUSINESS_SCHEDULE)
    return path


@pytest.fixture(scope="module")
def loaded(postgres, tmp_path_factory):
    """The same sandbox tickets loaded into PostgreSQL and into DuckDB, three of them deleted in the sandbox and
    marked by two more runs on each, marts built on both."""
    from pipelines.sandbox import SandboxOptions, SandboxServer

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres.url)
    root = tmp_path_factory.mktemp("warehouse")
    with SandboxServer(SandboxOptions(tickets=TICKETS)) as server:
        for _ in range(3):
            run(server, root / "postgres", destination="postgres")
            run(server, root / "duckdb")
            if len(server.tickets()) == TICKETS:  # one of each open status and a closed one, unchanged since April
                for status in ("active", "draft", "closed"):
                    server.delete_ticket(next(t["id"] for t in server.tickets()
                                              if t["status"] == status and t["updated_at"] < "2024-05-01"))
    # each run marked them when it started: one instant on both, so the marts compare row for row
    postgres.sql(f"update usercom.tickets set deleted_at = '{DELETED_AT}' where deleted_at is not null", database="usercom")
    with duckdb.connect(str(root / "duckdb" / "tickets.duckdb")) as con:
        con.execute(f"update usercom.tickets set deleted_at = '{DELETED_AT}' where deleted_at is not null")
    policy = business_clock_policy(root)
    for directory, destination in ((root / "postgres", "postgres"), (root / "duckdb", "duckdb")):
        build_marts(make_pipeline(directory, destination), as_of=DEFAULT_NOW, policy_path=policy)
    yield root
    monkeypatch.undo()


def postgres_rows(postgres, sql: str) -> tuple[list[str], list[tuple]]:
    with psycopg2.connect(postgres.url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()


def test_every_mart_on_postgres_equals_the_duckdb_mart_row_for_row(loaded, postgres):
    for mart in (m for m in MARTS if m != "rpt_runs"):  # the run log differs: each destination logs its own runs
        columns, pg = postgres_rows(postgres, f"select * from analytics.{mart}")
        duck = duckdb_rows(loaded / "duckdb" / "tickets.duckdb", f"select * from analytics.{mart}")
        assert columns == [name for name, _ in MART_COLUMNS[mart]], mart
        assert len(pg) == len(duck) > 0, mart
        assert_same_rows(without_built_at(columns, pg), without_built_at(columns, [tuple(r.values()) for r in duck]), mart)
    # the fixture built PostgreSQL's marts first, then DuckDB's: each build carries its own start
    _, [(pg_built_at,)] = postgres_rows(postgres, f"select {BUILT_AT} from analytics.rpt_helpdesk_summary")
    [duck_summary] = duckdb_rows(loaded / "duckdb" / "tickets.duckdb", f"select {BUILT_AT} from analytics.rpt_helpdesk_summary")
    assert pg_built_at < duck_summary[BUILT_AT] <= datetime.now(UTC)
    for windows in ("int_business_windows", "int_sla_policy"):  # the opening windows in UTC, the clock
        _, pg = postgres_rows(postgres, f"select * from analytics_internal.{windows}")
        duck = duckdb_rows(loaded / "duckdb" / "tickets.duckdb", f"select * from analytics_internal.{windows}")
        assert len(pg) == len(duck) > 0, windows
        assert_same_rows(pg, [tuple(r.values()) for r in duck], windows)


def test_the_compared_builds_ran_on_the_business_clock(loaded, postgres):
    _, counts = postgres_rows(postgres, "select count(first_resolution_business_hours), count(*), "
                                        "count(case when first_resolution_business_hours < first_resolution_hours then 1 end) "
                                        "from analytics.fct_tickets")
    (with_business_hours, tickets, fewer), = counts
    assert 0 < fewer <= with_business_hours < tickets  # closed tickets have them, open ones not
    _, clock = postgres_rows(postgres, "select sla_clock, business_hours_timezone from analytics_internal.int_sla_policy")
    assert clock == [("business", "Europe/Warsaw")]
    _, intervals = postgres_rows(postgres, "select count(*) from analytics.fct_ticket_status_intervals "
                                           "where business_hours is null")
    assert intervals == [(0,)]


POSTGRES_TYPES = {"BIGINT": "bigint", "VARCHAR": "text", "DOUBLE": "double precision",
                  "TIMESTAMP WITH TIME ZONE": "timestamp with time zone"}


def copy_raw_tables(duckdb_path: Path, url: str) -> None:
    """The raw tables of schema usercom in a DuckDB file (tests/test_transforms.py's write_raw_tables),
    created and filled alike in schema usercom of the PostgreSQL database at ``url``."""
    with duckdb.connect(str(duckdb_path), read_only=True) as source, psycopg2.connect(url) as target, \
            target.cursor() as cursor:
        cursor.execute("create schema usercom")
        for (table,) in source.execute("select table_name from information_schema.tables "
                                       "where table_schema = 'usercom'").fetchall():
            columns = source.execute("select column_name, data_type from information_schema.columns where "
                                     "table_schema = 'usercom' and table_name = ? order by ordinal_position",
                                     [table]).fetchall()
            cursor.execute(f"create table usercom.{table} ({', '.join(f'{c} {POSTGRES_TYPES[t]}' for c, t in columns)})")
            cursor.executemany(f"insert into usercom.{table} values ({', '.join('%s' for _ in columns)})",
                               source.execute(f"select * from usercom.{table}").fetchall())


def build_hand_made(postgres, tmp_path: Path, database: str, tickets: list[dict], policy: str,
                    history_versions: list[tuple[str, dict]] | None = None, deleted: dict[int, str] | None = None):
    """The hand-made tickets built on PostgreSQL, in a database of their own; returns ``query(sql) -> [row dicts]``.
    ``history_versions`` and ``deleted`` as for ``write_raw_tables`` (default: each ticket's one version)."""
    postgres.sql(f"create database {database} owner usercom")
    url = postgres.url.rsplit("/", 1)[0] + f"/{database}"
    write_raw_tables(tmp_path / "raw.duckdb", tickets, history_versions or [(LOADED_AT, t) for t in tickets], deleted)
    copy_raw_tables(tmp_path / "raw.duckdb", url)
    (tmp_path / "sla_policy.toml").write_text(policy)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
        build_marts(make_pipeline(tmp_path / "data", "postgres"), policy_path=tmp_path / "sla_policy.toml")

    def query(sql: str) -> list[dict]:
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return query


def test_the_hand_worked_business_hours_hold_on_postgres(postgres, tmp_path):
    check_business_marts(build_hand_made(postgres, tmp_path, "business_hours", BUSINESS_TICKETS, BUSINESS_POLICY))


def test_the_hand_worked_windows_across_midnight_utc_hold_on_postgres(postgres, tmp_path):
    check_midnight_marts(build_hand_made(postgres, tmp_path, "midnight_utc", MIDNIGHT_TICKETS, POLICY + MIDNIGHT_SCHEDULE))


def test_the_run_log_mart_on_postgres_holds_the_run_into_postgres(loaded, postgres):
    columns, runs = postgres_rows(postgres, "select * from analytics.rpt_runs where destination = 'postgres' "
                                            f"and tickets_received = {TICKETS}")
    assert columns == [name for name, _ in MART_COLUMNS["rpt_runs"]]
    row = dict(zip(columns, runs[0], strict=True))  # the session's other tests may have logged runs there too
    assert (row["outcome"], row["tickets_loaded"], row["error"]) == ("ok", TICKETS, None)
    assert row["run_day"] == row["started_at"].astimezone(UTC).date()
    duck = duckdb_rows(loaded / "duckdb" / "tickets.duckdb",
                       "select outcome, destination, tickets_loaded from analytics.rpt_runs order by started_at")
    assert [(r["outcome"], r["destination"]) for r in duck] == [("ok", "duckdb")] * 3  # the fixture's three runs
    assert duck[0]["tickets_loaded"] == TICKETS


def test_tickets_no_longer_listed_are_marked_deleted_on_postgres_as_on_duckdb(loaded, postgres):
    _, marked = postgres_rows(postgres, "select id from usercom.tickets where deleted_at is not null order by id")
    duck = duckdb_rows(loaded / "duckdb" / "tickets.duckdb",
                       "select id from usercom.tickets where deleted_at is not null order by id")
    assert len(marked) == 3 and marked == [tuple(r.values()) for r in duck]
    _, flagged = postgres_rows(postgres, "select ticket_id from analytics.fct_tickets where is_deleted order by ticket_id")
    assert flagged == marked
    _, deleted = postgres_rows(postgres, "select sum(deleted_tickets) from analytics.rpt_backlog_daily")
    assert deleted == [(2,)]  # the active and the draft one were open when deleted


LAST_BUILD = "select (select count(*) from analytics.fct_tickets), (select max(snapshot_at) from analytics.rpt_backlog_daily)"


def test_postgres_marts_carry_the_contract_types_and_the_docs_as_comments(loaded, postgres):
    _, types = postgres_rows(postgres, "select table_name, column_name, data_type from information_schema.columns "
                                       "where table_schema = 'analytics' and table_name = 'fct_tickets' "
                                       "order by ordinal_position")
    assert [t for _, _, t in types][:5] == ["bigint", "text", "text", "text", "boolean"]
    _, comments = postgres_rows(postgres, "select obj_description('analytics.fct_tickets'::regclass), "
                                          "col_description('analytics.fct_tickets'::regclass, 5)")
    assert comments[0][0].startswith("One row per ticket") and "not terminal" in comments[0][1]
    _, schemas = postgres_rows(postgres, "select schema_name from information_schema.schemata "
                                         "where schema_name like 'analytics%' order by 1")
    assert [s for (s,) in schemas] == ["analytics", "analytics_internal"]  # the build schemas were swapped in, not left beside


def test_a_failing_data_test_on_postgres_names_the_test_and_keeps_the_marts_readers_see(loaded, postgres, monkeypatch):
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres.url)
    _, before = postgres_rows(postgres, LAST_BUILD)
    postgres.sql("insert into usercom.tickets (id, status, name, created_at, updated_at) "
                 "values (999999, 'pending', 'odd', '2024-03-10T00:00:00Z', '2024-03-10T00:00:00Z')",
                 database="usercom")
    try:
        with pytest.raises(DataTestFailed, match="accepted_status_values.*ticket_id=999999"):
            build_marts(make_pipeline(loaded / "postgres", "postgres"), as_of=datetime(2024, 6, 2, tzinfo=UTC))
    finally:
        postgres.sql("delete from usercom.tickets where id = 999999", database="usercom")
    _, after = postgres_rows(postgres, LAST_BUILD)
    assert after == before  # the failed build stayed in analytics_build; analytics is the last good one


def test_run_on_postgres_builds_the_marts_there_and_report_reads_them_without_printing_the_password(
        postgres, sandbox, tmp_path):
    server = sandbox(tickets=300)
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
           "DESTINATION__POSTGRES__CREDENTIALS": postgres.url}
    data = str(tmp_path / "data")
    # the suite's PostgreSQL holds the `loaded` fixture's ~700 tickets: most go unlisted, which the guard would hold
    result = cli("run", "--destination", "postgres", "--data-dir", data, "--as-of", "2024-06-01T00:00:00Z",
                 "--allow-mass-deletion", env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"built \d+ models into schema analytics on postgres as of 2024-06-01T00:00:00\+00:00", result.stdout)
    assert not (Path(data) / "tickets.duckdb").exists()  # nothing built from a local file
    report = cli("report", "--destination", "postgres", "--data-dir", data, env=env)
    assert report.returncode == 0 and "SLA by priority, tickets created up to 2024-06-01 00:00 UTC" in report.stdout
    export = cli("export", "--destination", "postgres", "--out", str(tmp_path / "out"), "--data-dir", data, env=env)
    assert export.returncode == 2 and "schema analytics" in export.stderr
    for output in (result, report, export):
        assert postgres.password not in output.stdout + output.stderr


def test_marts_on_a_destination_dbt_cannot_serve_are_refused_before_loading(sandbox, tmp_path):
    server = sandbox(tickets=20)
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
           "DESTINATION__FILESYSTEM__BUCKET_URL": str(tmp_path / "bucket")}
    result = cli("run", "--destination", "filesystem", "--data-dir", str(tmp_path / "data"), env=env)
    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert "the SLA marts build on duckdb, postgres" in result.stderr and "--no-transform" in result.stderr
    assert not (tmp_path / "bucket").exists()  # refused before loading anything


def test_around_the_clock_business_hours_are_calendar_hours_on_postgres(postgres, tmp_path):
    check_around_the_clock_marts(build_hand_made(postgres, tmp_path, "around_the_clock", AROUND_THE_CLOCK_TICKETS,
                                                 AROUND_THE_CLOCK_POLICY))


def test_bi_users_see_only_documented_marts_in_analytics_on_postgres_and_duckdb(loaded, postgres):
    _, relations = postgres_rows(postgres, "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
                                           "join pg_namespace n on n.oid = c.relnamespace "
                                           "where n.nspname = 'analytics' and c.relkind in ('r', 'v', 'm', 'p')")
    assert sorted(name for name, _ in relations) == MARTS and all(comment for _, comment in relations), relations
    _, columns = postgres_rows(postgres, "select table_name, column_name, col_description("
                                         "('analytics.' || table_name)::regclass, ordinal_position) "
                                         "from information_schema.columns where table_schema = 'analytics'")
    assert columns and all(comment for _, _, comment in columns), [c for c in columns if not c[2]]
    _, internal = postgres_rows(postgres, "select table_name from information_schema.tables "
                                          "where table_schema = 'analytics_internal'")
    assert {"stg_tickets", "int_ticket_summary"} <= {name for (name,) in internal}
    duck = duckdb_rows(loaded / "duckdb" / "tickets.duckdb", "select schema_name, table_name, comment from duckdb_tables() "
                                                             "where schema_name like 'analytics%'")
    assert sorted(r["table_name"] for r in duck if r["schema_name"] == "analytics") == MARTS
    assert all(r["comment"] for r in duck if r["schema_name"] == "analytics")
    assert {"stg_tickets", "int_ticket_summary"} <= {r["table_name"] for r in duck if r["schema_name"] == "analytics_internal"}
