"""Publishing is all or nothing: the Parquet marts (`data/marts/`) and the BI snapshot (`data/analytics.duckdb`)
move from one build to the next together, and a build that cannot be published leaves readers on the previous
one, whole, with one error naming the file, the cause and the fix.

What cannot be written is really unwritable, for root too (the suite runs as root in CI, where a chmod stops
nobody): an immutable folder (`chattr +i`, as root) or a folder where a file belongs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.marts_publish import current_build, publish_build
from pipelines.publish_errors import PublishError
from tests.test_http_contract import cli
from transforms.catalog import load_mart_docs

MARTS = sorted(load_mart_docs())


@pytest.fixture
def data(nightly_data, tmp_path) -> Path:
    """A copy of a data directory after `demo` (tests/conftest.py: loaded, built as of 2024-06-01 and published
    once), links kept as links, that a test may rebuild and break."""
    copy = tmp_path / "data"
    shutil.copytree(nightly_data, copy, symlinks=True)
    return copy


def what_readers_see(data: Path) -> dict:
    """What a reader of the paths in use today gets: each mart's Parquet file and snapshot table, the build
    folder each resolves to, and the day the backlog runs up to (the build's as_of) in both."""
    marts = {p.name for p in (data / "marts").iterdir()}
    assert marts == {f"{m}.parquet" for m in MARTS}, marts  # every mart, nothing else, no temporary file
    folders = {(data / "marts" / name).resolve().parent.parent for name in marts}
    folders.add((data / "analytics.duckdb").resolve().parent)
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        snapshot = {m: con.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS}
        (snapshot_day,) = con.execute("select max(snapshot_at) from rpt_backlog_daily").fetchone()
    parquet = {m: pq.read_metadata(data / "marts" / f"{m}.parquet").num_rows for m in MARTS}
    parquet_day = max(pq.read_table(data / "marts" / "rpt_backlog_daily.parquet").column("snapshot_at").to_pylist())
    assert len(folders) == 1, folders  # one build behind both paths
    assert parquet == snapshot and parquet_day == snapshot_day  # and the same build's rows in both
    (folder,) = folders
    return {"folder": folder, "day": snapshot_day.date().isoformat(), "rows": snapshot,
            "bytes": {m: (data / "marts" / f"{m}.parquet").read_bytes() for m in MARTS}}


@contextmanager
def unwritable(folder: Path):
    """``folder`` made unwritable for this process: immutable as root (chmod does not stop root), read-only else."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


def test_an_unwritable_published_folder_fails_the_transform_with_one_error_and_readers_keep_the_whole_build(data):
    before = what_readers_see(data)
    assert before["day"] == "2024-06-01"
    published = data / ".published"

    with unwritable(published):
        failed = cli("transform", "--data-dir", str(data), "--as-of", "2024-04-01T00:00:00Z")

    assert failed.returncode == 6, failed.stdout
    assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
    assert failed.stderr.startswith(f"error: could not publish the marts: cannot create the build folder {published}/")
    assert "readers keep the previous build" in failed.stderr and f"lsattr -d {published}" in failed.stderr
    assert "published" not in failed.stdout and "BI snapshot" not in failed.stdout  # built, but never said published
    assert what_readers_see(data) == before
    assert sorted(p.name for p in published.iterdir()) == sorted([before["folder"].name, "current"])  # nothing half

    build = publish_build(data)  # the build the failed transform tested (as of 2024-04-01), once the folder is fixed
    after = what_readers_see(data)
    assert after["day"] == "2024-04-01" and after["folder"] == build.folder != before["folder"]
    assert current_build(data) == build and build.as_of == "2024-04-01T00:00:00+00:00"
    assert json.loads((data / ".published" / "current" / "build.json").read_text())["marts"] == MARTS
    assert os.readlink(published / "previous") == before["folder"].name  # kept for a reader still on it


def test_a_data_dir_of_the_earlier_layout_switches_to_the_new_build_whole_and_the_old_files_go_after(data):
    # the layout before builds had their folders: a real marts/ folder and analytics.duckdb file
    folder = what_readers_see(data)["folder"]
    for name in ("marts", "analytics.duckdb"):
        (data / name).unlink()
        shutil.move(folder / name, data / name)
    shutil.rmtree(data / ".published")
    earlier_bytes = (data / "marts" / "fct_tickets.parquet").read_bytes()
    held = (data / "marts" / "fct_tickets.parquet").open("rb")  # a reader in the middle of the old file

    result = cli("transform", "--data-dir", str(data), "--as-of", "2024-04-01T00:00:00Z")

    assert result.returncode == 0, result.stderr
    build = current_build(data)
    assert f"marts published to {data / 'marts'} (build {build.build_id})" in result.stdout  # once it is
    assert (data / "marts").is_symlink() and (data / "analytics.duckdb").is_symlink()
    assert what_readers_see(data)["day"] == "2024-04-01"
    assert held.read() == earlier_bytes
    held.close()
    assert os.readlink(data / ".published" / "previous") == "earlier"  # the old files, until the next build
    publish_build(data)
    assert sorted(p.name for p in (data / ".published").iterdir()) == sorted(
        [build.build_id, current_build(data).build_id, "current", "previous"])  # "earlier" pointed at by none: gone


def test_a_folder_where_the_snapshot_belongs_is_refused_before_anything_is_written(data):
    before = what_readers_see(data)
    for name in ("marts", "analytics.duckdb"):
        (data / name).unlink()
        shutil.move(before["folder"] / name, data / name)  # the earlier layout, as readers use it
    shutil.rmtree(data / ".published")
    snapshot = data / "analytics.duckdb"
    snapshot.rename(data / "kept.duckdb")
    snapshot.mkdir()  # a folder where the snapshot file belongs: no rename replaces it, for root neither
    (snapshot / "something").write_text("not ours")

    with pytest.raises(PublishError, match=f"{snapshot} is a folder, not the BI snapshot file.*Move {snapshot} away"):
        publish_build(data)

    assert sorted(p.name for p in (data / "marts").iterdir()) == [f"{m}.parquet" for m in MARTS]
    assert (data / "marts" / "fct_tickets.parquet").read_bytes() == before["bytes"]["fct_tickets"]
    assert not (data / "marts").is_symlink() and not (data / ".published").exists()


def test_a_build_that_fails_half_way_through_writing_leaves_no_part_of_it_and_readers_on_the_previous(data):
    before = what_readers_see(data)
    with duckdb.connect(str(data / "tickets.duckdb")) as con:
        con.execute("drop table analytics.rpt_sla_by_priority")  # the last mart by name: the others are written first

    with pytest.raises(duckdb.CatalogException, match="rpt_sla_by_priority"):
        publish_build(data)

    assert what_readers_see(data) == before
    assert sorted(p.name for p in (data / ".published").iterdir()) == sorted([before["folder"].name, "current"])


def test_export_into_a_folder_with_a_folder_where_a_mart_file_belongs_replaces_nothing(data, tmp_path):
    out = tmp_path / "export"
    assert cli("export", "--out", str(out), "--data-dir", str(data)).returncode == 0
    previous = {p.name: p.read_bytes() for p in out.iterdir()}
    with duckdb.connect(str(data / "tickets.duckdb")) as con:
        con.execute("delete from analytics.fct_tickets where ticket_id % 2 = 0")
    publish_build(data)  # a new build: every export file would change
    blocked = out / "rpt_sla_by_priority.parquet"  # sorts last: every other file would be replaced first
    blocked.unlink()
    blocked.mkdir()
    (blocked / "part-0.parquet").write_bytes(b"a reader's own file")
    del previous[blocked.name]

    failed = cli("export", "--out", str(out), "--data-dir", str(data))

    assert failed.returncode == 6 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith(f"error: could not export the marts: {blocked} is in the way (not a file)")
    assert "the folder keeps its previous files" in failed.stderr and "Move it away" in failed.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == previous  # not one file replaced
    assert sorted(p.name for p in out.iterdir()) == sorted([*previous, blocked.name])  # no temporary left


def test_export_into_a_path_that_is_a_file_says_so_and_writes_nothing(data, tmp_path):
    out = tmp_path / "export"
    out.write_text("a file, not a folder")

    failed = cli("export", "--out", str(out / "marts"), "--data-dir", str(data))

    assert failed.returncode == 6 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith(f"error: could not export the marts: cannot create the folder {out / 'marts'}")
    assert "Not a directory" in failed.stderr and "move it away" in failed.stderr
    assert out.read_text() == "a file, not a folder"
