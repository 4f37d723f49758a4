"""BI users see only the documented marts in schema ``analytics`` (issue 19, part 7): the staging and intermediate
models are in ``analytics_internal``, and a build removes those an earlier version left in ``analytics``."""

from __future__ import annotations

import duckdb

from pipelines.marts_publish import publish_build
from tests.test_transforms import HISTORY_VERSIONS, MARTS, TICKETS, build, policy_file, rows, write_raw_tables  # noqa: F401


def test_a_build_leaves_only_documented_marts_in_analytics_and_removes_models_an_earlier_version_put_there(
        tmp_path, policy_file):  # noqa: F811
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    with duckdb.connect(str(db)) as con:  # as an earlier version built them: every model in analytics
        con.execute("create schema analytics")
        con.execute("create table analytics.stg_tickets as select 1 as ticket_id")
        con.execute("create view analytics.int_ticket_summary as select 1 as ticket_id")
        con.execute("create table analytics.my_own_table as select 1 as kept")  # not one of the project's models

    build(db, policy_path=policy_file)
    published = publish_build(tmp_path, db)

    tables = rows(db, "select schema_name, table_name, comment from duckdb_tables() where schema_name like 'analytics%'")
    in_analytics = sorted(t["table_name"] for t in tables if t["schema_name"] == "analytics")
    assert in_analytics == sorted([*MARTS, "my_own_table"])
    assert rows(db, "select count(*) as n from duckdb_views() where schema_name = 'analytics'") == [{"n": 0}]
    assert all(t["comment"] for t in tables if t["schema_name"] == "analytics" and t["table_name"] in MARTS)
    internal = {t["table_name"] for t in tables if t["schema_name"] == "analytics_internal"}
    assert {"stg_tickets", "int_ticket_summary", "int_sla_policy"} <= internal
    assert rows(db, "select count(*) as n from analytics_internal.stg_tickets") == [{"n": len(TICKETS)}]
    with duckdb.connect(str(published.snapshot), read_only=True) as con:  # the BI snapshot: the marts alone
        snapshot = sorted(r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall())
    assert snapshot == MARTS
