"""BI hand-off: the read-only snapshot `analytics.duckdb` a BI tool connects to, and `export`.

Every run and transform publishes the marts to `<data dir>/analytics.duckdb` (replaced atomically) so
that a BI tool never holds `tickets.duckdb`, which would make the nightly run fail on DuckDB's lock.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from pipelines.sandbox import SANDBOX_API_KEY
from tests.test_http_contract import cli
from transforms.catalog import load_mart_docs

MARTS = load_mart_docs()  # transforms/models/marts/*.yml: every mart, its grain and its columns


@pytest.fixture(scope="module")
def demo_data(nightly_data) -> Path:
    """The session's data directory after `demo` (tests/conftest.py `nightly_data`): read it, never change it."""
    return nightly_data


def mart_counts(con: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, int]:
    return {mart: con.execute(f"select count(*) from {schema}.{mart}").fetchone()[0] for mart in MARTS}


def as_of(con: duckdb.DuckDBPyConnection) -> object:
    return con.execute("select max(snapshot_at) from main.rpt_backlog_daily").fetchone()[0]


def test_a_bi_tool_reads_every_mart_of_the_snapshot_through_sqlalchemy_and_cannot_write(demo_data):
    snapshot = demo_data / "analytics.duckdb"
    with duckdb.connect(str(demo_data / "tickets.duckdb"), read_only=True) as con:
        built = mart_counts(con, schema="analytics")
    engine = sa.create_engine(f"duckdb:///{snapshot}?access_mode=read_only")  # the README's URI
    try:
        inspector = sa.inspect(engine)
        assert sorted(inspector.get_table_names()) == sorted(MARTS)
        with engine.connect() as conn:
            for mart, doc in MARTS.items():
                assert inspector.get_table_comment(mart)["text"] == doc.grain
                assert sorted(c["name"] for c in inspector.get_columns(mart)) == sorted(doc.columns)  # Superset reflects
                result = conn.execute(sa.text(f"select * from {mart}"))
                assert sorted(result.keys()) == sorted(doc.columns)
                assert len(result.all()) == built[mart] > 0, mart
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                conn.execute(sa.text("delete from fct_tickets"))
    finally:
        engine.dispose()  # the pool keeps its connection (and DuckDB its instance) until disposed


def test_the_snapshot_holds_only_the_marts_in_types_older_duckdb_and_bi_drivers_read(demo_data):
    with duckdb.connect(str(demo_data / "analytics.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        types = {r[0] for r in con.execute("select distinct data_type from duckdb_columns()").fetchall()}
        (storage,) = con.execute("select tags['storage_version'] from duckdb_databases() "
                                 "where database_name = current_database()").fetchone()
    assert tables == set(MARTS)
    assert "HUGEINT" not in types
    assert storage == "v1.0.0+"  # DuckDB 1.0 and newer open it, not only the writer's version


def test_a_reader_holding_the_snapshot_open_does_not_fail_the_next_run_and_keeps_its_snapshot(sandbox, tmp_path):
    server = sandbox(tickets=300)
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url}
    data = tmp_path / "data"
    first = cli("run", "--data-dir", str(data), "--as-of", "2024-04-01T00:00:00Z", env=env)
    assert first.returncode == 0, first.stderr

    reader = duckdb.connect(str(data / "analytics.duckdb"), read_only=True)  # a BI tool's open connection
    parquet_reader = pq.ParquetFile(data / "marts" / "fct_tickets.parquet")  # a Parquet reader's open file
    before = (mart_counts(reader), as_of(reader))
    second = cli("run", "--data-dir", str(data), "--as-of", "2024-06-01T00:00:00Z", env=env)

    assert second.returncode == 0, second.stderr
    assert (mart_counts(reader), as_of(reader)) == before  # the old snapshot, whole and unchanged
    assert parquet_reader.read().num_rows == before[0]["fct_tickets"]
    reader.close()
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as fresh:
        after = (mart_counts(fresh), as_of(fresh))
    assert after[1] > before[1] and after[0]["fct_tickets"] > before[0]["fct_tickets"]
    assert [p.name for p in data.iterdir() if p.name.startswith(".analytics")] == []  # no temporary left


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_export_writes_every_mart_with_the_snapshots_rows(demo_data, tmp_path, file_format):
    out = tmp_path / "export"
    result = cli("export", "--format", file_format, "--out", str(out), "--data-dir", str(demo_data))

    assert result.returncode == 0, result.stderr
    assert f"exported {len(MARTS)} marts as {file_format} to {out}" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{mart}.{file_format}" for mart in MARTS)
    reader = "read_parquet" if file_format == "parquet" else "read_csv"
    with duckdb.connect(str(demo_data / "analytics.duckdb"), read_only=True) as con:
        for mart, doc in MARTS.items():
            exported = con.execute(f"select * from {reader}(?)", [str(out / f"{mart}.{file_format}")])
            assert sorted(d[0] for d in exported.description) == sorted(doc.columns)
            assert len(exported.fetchall()) == con.execute(f"select count(*) from {mart}").fetchone()[0]


def test_csv_export_writes_utc_timestamps_in_iso_8601(demo_data, tmp_path):
    assert cli("export", "--format", "csv", "--out", str(tmp_path), "--data-dir", str(demo_data)).returncode == 0
    with (tmp_path / "fct_tickets.csv").open(newline="", encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    assert first["created_at"].endswith("Z") and "T" in first["created_at"]


def test_export_replaces_each_file_so_a_reader_of_the_old_one_keeps_it_whole(demo_data, tmp_path):
    data, out = tmp_path / "data", tmp_path / "export"
    shutil.copytree(demo_data, data, symlinks=True)  # built and published as of the sandbox's 2024-06-01
    assert cli("export", "--out", str(out), "--data-dir", str(data)).returncode == 0
    target = out / "fct_tickets.parquet"
    with target.open("rb") as held:
        old_bytes = target.read_bytes()
        assert cli("transform", "--data-dir", str(data), "--as-of", "2024-04-01T00:00:00Z").returncode == 0
        assert cli("export", "--out", str(out), "--data-dir", str(data)).returncode == 0
        assert os.fstat(held.fileno()).st_ino != target.stat().st_ino  # replaced, not rewritten in place
        assert held.read() == old_bytes
    assert target.read_bytes() != old_bytes
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_export_before_any_run_says_what_to_do(tmp_path):
    result = cli("export", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 7 and result.stderr.startswith("error: no published marts")
    assert "run `usercom-tickets run`" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()

