"""Puts a tested build of the marts in front of readers all at once: the Parquet marts and the BI snapshot
move from one build to the next together, or not at all.

Each build is written whole into a folder of its own, then one symbolic link is switched::

    data/marts            -> .published/current/marts              (made once, never rewritten)
    data/analytics.duckdb -> .published/current/analytics.duckdb   (made once, never rewritten)
    data/.published/current  -> 2026-12-03T12-00-00.123456Z        (the one switch: os.replace of a link)
    data/.published/previous -> the build before it                 (kept for readers still on it)
    data/.published/2026-12-03T12-00-00.123456Z/
        marts/<mart>.parquet, analytics.duckdb, build.json (build id, as_of, published_at, marts)

So the paths readers use stay ``data/marts/<mart>.parquet`` and ``data/analytics.duckdb``, and both resolve
through the same ``current`` link: a failure anywhere before the switch leaves the previous build whole; the
switch itself is one ``rename(2)``. A reader that needs several files of one build resolves
``data/.published/current`` once (``os.path.realpath``) and reads from there; ``build.json`` in it names the
build. Builds that neither link points at are removed after the switch (an open file lives on until it is
closed). A data directory of the earlier layout (a real ``marts/`` folder and ``analytics.duckdb`` file) is
adopted as the first build: the file is swapped for its link atomically, the folder is moved aside and its link
put in its place, the only moment a reader can find ``data/marts`` missing, once.

Call :func:`publish_build` under the data directory's run lock (``run_setup.prepared_run``), as the CLI does.
POSIX only (links and ``rename(2)``); on Windows read the warehouse instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.bi_publish import BI_FILE, MARTS_SCHEMA, publish_bi_database
from pipelines.parquet_publish import publish_parquet
from pipelines.publish_errors import PublishError, attempt

PUBLISHED = ".published"
MARTS_DIR = "marts"
BUILD_FILE = "build.json"
CURRENT, PREVIOUS = "current", "previous"
_PARTIAL = ".partial"  # a build folder being written: never pointed at, removed when its write fails

log = logging.getLogger("usercom")


@dataclass(frozen=True)
class PublishedBuild:
    """A build readers see: its id (its folder's name), the as_of of its SLA metrics, when it was published,
    its folder, and the two paths readers open."""

    build_id: str
    as_of: str | None
    published_at: str
    folder: Path
    marts_dir: Path
    snapshot: Path


def publish_build(directory: Path, database: Path | None = None) -> PublishedBuild:
    """Publish the marts of ``database`` (default ``<directory>/tickets.duckdb``, schema ``analytics``) as one
    build: ``<directory>/marts/<mart>.parquet`` and ``<directory>/analytics.duckdb`` switch to it together.

    Raises :class:`PublishError` naming the file, the cause and the fix when any part cannot be written; then
    readers see the previous build, whole, and no part of the new one is left behind.
    """
    from transforms.catalog import mart_names

    directory = Path(directory)
    database = Path(database) if database else directory / "tickets.duckdb"
    root = directory / PUBLISHED
    readers = {MARTS_DIR: directory / MARTS_DIR, BI_FILE: directory / BI_FILE}
    for name, path in readers.items():
        _check_replaceable(path, is_folder=name == MARTS_DIR)
    build_id = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
    marts = mart_names()
    partial = root / (build_id + _PARTIAL)
    try:
        _attempt(lambda: root.mkdir(parents=True, exist_ok=True), root, "create the folder")
        for stale in root.glob("*" + _PARTIAL):  # left by a killed run: under the run lock nobody else writes here
            shutil.rmtree(stale, ignore_errors=True)
        _attempt(partial.mkdir, partial, "create the build folder")
        as_of = _write_build(database, partial, build_id, marts)
        folder = root / build_id
        _attempt(lambda: os.rename(partial, folder), folder, "move the finished build into place")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:
        _adopt_earlier_layout(directory, readers)
        _switch(root, build_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for name, path in readers.items():
        _link(path, Path(PUBLISHED) / CURRENT / name)
    _remove_unreferenced(root)
    return PublishedBuild(build_id, as_of, _read_build_file(folder)["published_at"], folder, readers[MARTS_DIR],
                          readers[BI_FILE])


def current_build(directory: Path) -> PublishedBuild | None:
    """The build readers of ``directory`` see now (from ``.published/current/build.json``), None before the first."""
    folder = Path(directory) / PUBLISHED / CURRENT
    if not folder.is_dir():
        return None
    info = _read_build_file(folder.resolve())
    return PublishedBuild(info["build_id"], info["as_of"], info["published_at"], folder.resolve(),
                          Path(directory) / MARTS_DIR, Path(directory) / BI_FILE)


def _write_build(database: Path, folder: Path, build_id: str, marts: list[str]) -> str | None:
    """Every mart as Parquet, the BI snapshot and build.json into ``folder``; the build's as_of."""
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        (as_of,) = con.execute(f"select max(as_of) from {MARTS_SCHEMA}.rpt_helpdesk_summary").fetchone()
        _attempt(lambda: publish_parquet(con, marts, folder / MARTS_DIR, MARTS_SCHEMA), folder / MARTS_DIR,
                 "write the Parquet marts into")
    _attempt(lambda: publish_bi_database(database, marts, folder / BI_FILE), folder / BI_FILE, "write the BI snapshot")
    info = {"build_id": build_id, "as_of": as_of.isoformat() if as_of else None,
            "published_at": datetime.now(UTC).isoformat(), "marts": marts}
    _attempt(lambda: (folder / BUILD_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8"),
             folder / BUILD_FILE, "write")
    return info["as_of"]


def _check_replaceable(path: Path, *, is_folder: bool) -> None:
    """Refuse, before writing anything, a reader path that holds something this module cannot swap for its link."""
    if path.is_symlink() or not path.exists():
        return
    if is_folder != path.is_dir():
        kind, expected = ("a file", "the folder of the Parquet marts") if is_folder else ("a folder", "the BI snapshot file")
        raise PublishError(f"could not publish the marts: {path} is {kind}, not {expected}; readers keep the previous "
                           f"build. Move {path} away, then run `usercom-tickets transform`.")


def _adopt_earlier_layout(directory: Path, readers: dict[str, Path]) -> None:
    """Turn a real ``marts/`` folder and ``analytics.duckdb`` file (the layout before builds) into build ``earlier``."""
    root = directory / PUBLISHED
    if (root / CURRENT).is_symlink() or not any(p.exists() and not p.is_symlink() for p in readers.values()):
        return
    earlier = root / "earlier"
    _attempt(lambda: earlier.mkdir(exist_ok=True), earlier, "create the folder")
    info = {"build_id": "earlier", "as_of": None, "published_at": None, "marts": []}
    (earlier / BUILD_FILE).write_text(json.dumps(info) + "\n", encoding="utf-8")
    snapshot = readers[BI_FILE]
    if snapshot.is_file() and not snapshot.is_symlink():
        _attempt(lambda: os.link(snapshot, earlier / BI_FILE), earlier / BI_FILE, "keep the earlier BI snapshot as")
    _switch(root, "earlier")
    if snapshot.exists() and not snapshot.is_symlink():
        _link(snapshot, Path(PUBLISHED) / CURRENT / BI_FILE)
    marts = readers[MARTS_DIR]
    if marts.is_dir() and not marts.is_symlink():
        _attempt(lambda: os.rename(marts, earlier / MARTS_DIR), marts, "move the earlier Parquet marts aside from")
        _link(marts, Path(PUBLISHED) / CURRENT / MARTS_DIR)


def _switch(root: Path, build_id: str) -> None:
    """``previous`` to what ``current`` points at, then ``current`` to ``build_id``: the moment readers move."""
    current = root / CURRENT
    if current.is_symlink():
        _link(root / PREVIOUS, Path(os.readlink(current)))
    _link(current, Path(build_id))


def _link(path: Path, target: Path) -> None:
    """Make ``path`` a symbolic link to ``target`` (relative to its folder), replacing a link or file atomically."""
    if path.is_symlink() and Path(os.readlink(path)) == target:
        return
    temporary = path.with_name(f".{path.name}.link")
    temporary.unlink(missing_ok=True)
    _attempt(lambda: os.symlink(target, temporary), temporary, "create the link")
    try:
        _attempt(lambda: os.replace(temporary, path), path, "switch the link")
    finally:
        temporary.unlink(missing_ok=True)


def _remove_unreferenced(root: Path) -> None:
    """Remove the builds neither ``current`` nor ``previous`` points at; one that cannot be removed is logged."""
    kept = {os.readlink(root / name) for name in (CURRENT, PREVIOUS) if (root / name).is_symlink()}
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and folder.name not in kept and not folder.name.endswith(_PARTIAL):
            try:
                shutil.rmtree(folder)
            except OSError as error:  # the new build is published: a leftover costs disk space only
                log.warning("could not remove the old build %s (%s): remove it by hand", folder, error.strerror or error)


def _attempt(action, path: Path, what: str):
    return attempt(action, path, what, again="then run `usercom-tickets transform`", kept="readers keep the previous build")


def _read_build_file(folder: Path) -> dict:
    return json.loads((folder / BUILD_FILE).read_text(encoding="utf-8"))
