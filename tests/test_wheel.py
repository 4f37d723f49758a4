"""The package as a user gets it: a wheel built from the tracked files, installed (not editable) into a fresh
virtualenv, run from an empty folder through its console script, with nothing of this source tree importable.

The fresh virtualenv gets the wheel from pip (`--no-deps`) and its dependencies as hard links of exactly the
distributions the wheel's metadata requires, followed through their own requirements and extras, taken from
the test's virtualenv; `pip check` then confirms every requirement of every installed distribution is met.
A plain `pip install` of the wheel resolves the same versions but unpacks ~590 MB: 115 s on CI's machine
against 15 s here for building the wheel, installing it and the links. Nothing editable comes along: the
test virtualenv's own install of this project (its `.pth` hook and dist-info) is not among the linked files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import Distribution, PathDistribution, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from transforms.catalog import load_mart_docs

REPO = Path(__file__).resolve().parents[1]
MARTS = load_mart_docs()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh virtualenv holding the wheel of the tracked files and its dependencies."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "checkout"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():  # a file deleted but not yet committed is not part of the checkout
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _build([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(source)])
    (wheel,) = (root / "dist").glob("usercom_tickets-*.whl")

    venv = root / "venv"
    _build([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    _build([*pip, "--python", str(python), "install", "--no-deps", str(wheel)])
    (ours,) = site.glob("usercom_tickets-*.dist-info")
    for dist in _dependency_closure(PathDistribution(ours)):
        _link_files(dist, site)
    _build([*pip, "--python", str(python), "check"])
    return venv / "bin"


def test_the_wheel_ships_the_dbt_project_and_nothing_of_the_tests(installed):
    site = _site(installed)
    shipped = {p.relative_to(site).as_posix() for p in (site / "transforms").rglob("*") if p.is_file()}
    for needed in ["transforms/dbt_project.yml", "transforms/profiles/profiles.yml", "transforms/sla_policy.toml",
                   "transforms/models/marts/fct_tickets.yml", "transforms/models/staging/_usercom__sources.yml",
                   "transforms/tests/generic/mart_checks.sql"]:
        assert needed in shipped
    assert not (site / "tests").exists() and not (site / "benchmarks").exists()
    where = "import pipelines, transforms; print(pipelines.__file__, transforms.__file__)"
    imported = _run([str(installed / "python"), "-c", where], cwd=installed.parent)
    assert all(Path(f).is_relative_to(site) for f in imported.stdout.split())


def test_the_installed_command_runs_demo_transform_report_and_export_from_an_empty_folder(installed, tmp_path):
    site = _site(installed)
    package_files_before = _package_files(site)
    work = tmp_path / "empty"
    work.mkdir()
    command = str(installed / "usercom-tickets")

    demo = _run([command, "demo", "--tickets", "300"], cwd=work)
    data = work / "data"  # the default data directory, beside where the command ran
    assert "data tests passed" in demo.stdout and "SLA by priority" in demo.stdout
    transform = _run([command, "transform", "--as-of", "2024-06-01T00:00:00Z"], cwd=work)
    built = transform.stdout
    assert "built " in built and " 0 data tests passed" not in built and "as of 2024-06-01T00:00:00+00:00" in built
    report = _run([command, "report"], cwd=work)
    assert report.stdout.startswith("Helpdesk at 2024-06-01 00:00 UTC")  # the headline row, then the SLA table
    assert "SLA by priority, tickets created up to 2024-06-01 00:00 UTC" in report.stdout
    export = _run([command, "export", "--out", "exported"], cwd=work)
    assert f"exported {len(MARTS)} marts as parquet" in export.stdout
    assert sorted(p.name for p in (work / "exported").iterdir()) == sorted(f"{m}.parquet" for m in MARTS)
    assert (data / "tickets.duckdb").is_file() and (data / "marts" / "fct_tickets.parquet").is_file()

    # dbt's target/, logs/ and partial-parse file went under the data directory, nothing into site-packages
    assert _package_files(site) == package_files_before
    assert list(data.rglob("partial_parse.msgpack")) and list(data.rglob("dbt.log"))


def _build(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`command` run from `cwd` in a clean environment, as a user's shell would: no virtualenv, PYTHONPATH or
    settings of the test run, `cwd` as the home folder; must succeed."""
    env = {"PATH": os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(sys.executable).parent != Path(p)),
           "HOME": str(cwd), "LANG": "C.UTF-8"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=240)
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


def _site(bin_dir: Path) -> Path:
    (site,) = bin_dir.parent.glob("lib/python*/site-packages")
    return site


def _package_files(site: Path) -> set[str]:
    """Every file of the installed `pipelines` and `transforms` packages but Python's bytecode cache."""
    return {p.relative_to(site).as_posix() for top in ("pipelines", "transforms") for p in (site / top).rglob("*")
            if "__pycache__" not in p.parts}


def _dependency_closure(root: Distribution) -> list[Distribution]:
    """The installed distributions `root` requires (no extras of its own), and theirs, with the extras asked for."""
    found: dict[str, tuple[Distribution, set[str]]] = {}
    pending = [(root, set())]
    while pending:
        dist, extras = pending.pop()
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            name = canonicalize_name(requirement.name)
            known = found.get(name)
            if known and requirement.extras <= known[1]:
                continue
            needed = distribution(name)  # from the test's virtualenv; PackageNotFoundError if it lacks one
            asked = set(requirement.extras) | (known[1] if known else set())
            found[name] = (needed, asked)
            pending.append((needed, asked))
    return [dist for dist, _ in found.values()]


def _link_files(dist: Distribution, site: Path) -> None:
    """Hard-link (or copy, across file systems) the files `dist` installed under site-packages into `site`."""
    here = Path(sysconfig.get_path("purelib"))
    for file in dist.files or []:
        if file.parts[0] == "..":  # console scripts and data outside site-packages: not needed to import it
            continue
        source, target = Path(dist.locate_file(file)), site / file
        if not source.is_file() or target.exists():
            continue
        assert source.is_relative_to(here), source
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
