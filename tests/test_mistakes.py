"""The mistakes a new operator makes in their first hour (issue 19's table), each a real command of the installed
console script: its exit code (pipelines/exit_codes.py) and the words its message must hold, the cause and the fix
on one line. One sandbox and one loaded data directory for the module; no row runs a dbt build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from pipelines.exit_codes import ExitCode
from pipelines.lock import LOCK_FILE
from pipelines.sandbox import SANDBOX_API_KEY, SandboxOptions, SandboxServer
from tests.test_http_contract import REAL_LOOKING_KEY

SCRIPT = Path(sys.executable).parent / "usercom-tickets"  # the console script pip installed into this venv


@dataclass
class Place:
    """What the rows run against: the module's sandbox, a data directory loaded from it, a fresh folder for the row."""

    server: SandboxServer
    loaded: Path
    fresh: Path

    def env(self, **changes: str) -> dict[str, str]:
        """The environment of a scheduled run: none of the test process's dlt settings, the sandbox's key and URL."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "RUNTIME__", "DESTINATION__"))}
        return {**base, "SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": self.server.base_url,
                **changes}


def usercom_tickets(place: Place, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The console script with `args`, in the row's own folder as working directory."""
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=place.fresh,
                          env=env or place.env(), timeout=120)


@contextmanager
def unwritable(path: Path, *, folder_too: bool = False) -> Iterator[None]:
    """`path`, a file, unopenable for writing by the row's process: immutable as root (who ignores modes), else mode
    000 and, with `folder_too`, its folder read-only (a rename over a read-only file succeeds in a writable folder)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    modes = {p: p.stat().st_mode for p in ([path, path.parent] if folder_too else [path])}
    path.chmod(0)
    if folder_too:
        path.parent.chmod(0o555)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def snapshot(folder: Path) -> Path:
    """A published BI snapshot as `export` reads it (a DuckDB file of marts), with two small marts."""
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(folder / "analytics.duckdb")) as con:
        con.execute("create table fct_tickets as select range as ticket_id, 'open' as status from range(3)")
        con.execute("create table dim_priorities as select 1 as priority_id, 'High' as name")
    return folder


@dataclass
class Mistake:
    """A row of the table: what the user typed (`{loaded}`, `{fresh}` and `{url}` filled in), the exit code, the
    words of the message; `around` sets the scene, `env` changes the environment; `one_line`: stderr is exactly
    the `error:` line (no warning, no traceback before it)."""

    args: list[str]
    code: int
    words: list[str]
    env: Callable[[Place], dict[str, str]] | None = None
    around: Callable[[Place], object] | None = None
    one_line: bool = True
    absent: list[str] = field(default_factory=list)


def _held_by_another_run(place: Place):
    """Another real run holds `loaded`'s lock: a run against the sandbox slowed to one answer every 3 s."""
    @contextmanager
    def holding():
        place.server.options.latency_ms = 3000
        other = subprocess.Popen([str(SCRIPT), "run", "--data-dir", str(place.loaded), "--no-transform"],
                                 cwd=place.fresh, env=place.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            lock = place.loaded / LOCK_FILE
            while not (lock.exists() and f"pid {other.pid}," in lock.read_text()):  # it holds the lock once it says so
                assert other.poll() is None, "the other run ended before taking the lock"
                time.sleep(0.05)
            yield
        finally:
            place.server.options.latency_ms = 0
            other.send_signal(signal.SIGTERM)
            other.wait(timeout=60)
    return holding()


def _readable_secrets(place: Place):
    """A `.dlt/secrets.toml` others can read, holding the sandbox's key and URL, in the working directory."""
    secrets = place.fresh / ".dlt" / "secrets.toml"
    secrets.parent.mkdir(parents=True, exist_ok=True)
    secrets.write_text(f'[sources.usercom]\napi_key = "{SANDBOX_API_KEY}"\nbase_url = "{place.server.base_url}"\n'
                       'subdomain = "sandbox"\n')
    secrets.chmod(0o644)
    return _nothing()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _exported_once(place: Place):
    """A snapshot and a folder that already holds its export."""
    snapshot(place.fresh / "data")
    first = usercom_tickets(place, "export", "--data-dir", str(place.fresh / "data"), "--out", str(place.fresh / "out"))
    assert first.returncode == 0, first.stderr
    return _nothing()


def _mart_file_unwritable(place: Place):
    _exported_once(place)
    return unwritable(place.fresh / "out" / "fct_tickets.parquet", folder_too=True)


MISTAKES = {
    "run --destination duckbd": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--destination", "duckbd"], ExitCode.USAGE,
        ["unknown destination 'duckbd'", "duckdb, parquet, postgres", "bigquery", "--destination"],
        absent=["was first attempted"]),
    "USERCOM__DESTINATION=duckbd": Mistake(
        ["report", "--data-dir", "{fresh}/data"], ExitCode.CONFIGURATION,
        ["usercom.destination = 'duckbd', set in the environment (USERCOM__DESTINATION): no such destination",
         "duckdb, parquet, postgres", "bigquery", "or remove it"],
        env=lambda place: {"USERCOM__DESTINATION": "duckbd"}, absent=["--destination"]),
    "run --destination postgres without credentials": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--destination", "postgres"], ExitCode.CONFIGURATION,
        ["DESTINATION__POSTGRES__CREDENTIALS", '[destination.postgres] credentials = "postgresql://', ".dlt/secrets.toml"],
        absent=["WARNING", "ConfigFieldMissingException"]),
    "run --destination postgres that is not running": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--destination", "postgres", "--no-transform"], ExitCode.DESTINATION,
        ["cannot connect to the destination", "Connection refused", "DESTINATION__<NAME>__CREDENTIALS"],
        env=lambda place: {"DESTINATION__POSTGRES__CREDENTIALS": "postgresql://user:password@127.0.0.1:1/usercom"},
        one_line=False),  # the run log's row cannot be written there either: a warning says so first
    "transform with tickets.duckdb unopenable": Mistake(
        ["transform", "--data-dir", "{loaded}"], ExitCode.DESTINATION,
        ["IO Error: Cannot open file", "{loaded}/tickets.duckdb", "readers keep the last good build",
         "usercom-tickets transform"],
        around=lambda place: unwritable(place.loaded / "tickets.duckdb")),
    "export --out DIR where the files exist": Mistake(
        ["export", "--data-dir", "{fresh}/data", "--out", "{fresh}/out"], ExitCode.OK,
        ["exported 2 marts as parquet to {fresh}/out: dim_priorities, fct_tickets"], around=_exported_once,
        one_line=False),
    "export over an unwritable mart file": Mistake(
        ["export", "--data-dir", "{fresh}/data", "--out", "{fresh}/out"], ExitCode.DESTINATION,
        ["could not export the marts", "{fresh}/out", "the folder keeps its previous files", "run the export again"],
        around=_mart_file_unwritable, absent=["PermissionError", "FileExistsError"]),
    "-v after the subcommand": Mistake(
        ["report", "--data-dir", "{fresh}/empty", "-v"], ExitCode.BUG,  # -v: the whole traceback, Python's exit 1
        ["no data in", "Traceback"], one_line=False, absent=["unrecognized arguments"]),
    "--wait-for-lock -5": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--wait-for-lock", "-5"], ExitCode.USAGE,
        ["argument --wait-for-lock: '-5' is not a number of seconds", "give 0"]),
    '--statuses ""': Mistake(
        ["run", "--data-dir", "{fresh}/data", "--statuses", ""], ExitCode.USAGE,
        ["argument --statuses: '' names no status", "active,closed,archived,draft"]),
    "--statuses actve": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--statuses", "actve"], ExitCode.USAGE,
        ["unknown status actve: choose from active, closed, archived, draft"]),
    "check --statuses actve": Mistake(
        ["check", "--statuses", "actve"], ExitCode.USAGE, ["unknown status actve"]),
    "--strict with a rejected ticket": Mistake(
        ["run", "--data-dir", "{fresh}/data", "--no-transform", "--strict"], ExitCode.REJECTED,
        ["1 rejected"], one_line=False),
    "a run the lock refuses": Mistake(
        ["run", "--data-dir", "{loaded}", "--no-transform"], ExitCode.LOCKED,
        ["another usercom-tickets run", "usercom-tickets run --data-dir {loaded} --no-transform", "--wait-for-lock"],
        around=_held_by_another_run),
    "a run with a rejected key (401)": Mistake(
        ["run", "--data-dir", "{loaded}", "--no-transform"], ExitCode.API,
        ["answered 401", "SOURCES__USERCOM__API_KEY"], env=lambda place: {"SOURCES__USERCOM__API_KEY": REAL_LOOKING_KEY},
        absent=["interrupted", REAL_LOOKING_KEY]),
    "a run with a wrong URL (404)": Mistake(
        ["run", "--data-dir", "{loaded}", "--no-transform"], ExitCode.API,
        ["answered 404", "SOURCES__USERCOM__SUBDOMAIN"],
        env=lambda place: {"SOURCES__USERCOM__BASE_URL": place.server.base_url + "wrong/"}, absent=["interrupted"]),
    "check with a world-readable secrets.toml": Mistake(
        ["check"], ExitCode.OK, ["secrets.toml can be read by other users", "chmod 600"], around=_readable_secrets,
        env=lambda place: {"SOURCES__USERCOM__API_KEY": "", "SOURCES__USERCOM__BASE_URL": ""}, one_line=False),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[SandboxServer, Path]]:
    """The module's sandbox (one ticket of it untypable: rejected) and a data directory loaded from it, no marts."""
    server = SandboxServer(SandboxOptions(tickets=60, page_size=50)).start()
    server.update_ticket(server.tickets()[0]["id"], due_date="next tuesday")
    loaded = tmp_path_factory.mktemp("mistakes") / "loaded"
    place = Place(server, loaded, loaded.parent)
    first = usercom_tickets(place, "run", "--data-dir", str(loaded), "--no-transform")
    assert first.returncode == 0, first.stderr
    yield server, loaded
    server.stop()


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_ends_in_one_line_with_its_cause_its_fix_and_its_exit_code(shared, tmp_path, name):
    mistake = MISTAKES[name]
    place = Place(*shared, fresh=tmp_path)
    fill = {"loaded": str(place.loaded), "fresh": str(tmp_path), "url": place.server.base_url}
    env = place.env(**(mistake.env(place) if mistake.env else {}))
    env = {k: v for k, v in env.items() if v != ""}  # an emptied setting is an unset one
    with mistake.around(place) if mistake.around else _nothing():
        result = usercom_tickets(place, *(a.format(**fill) for a in mistake.args), env=env)

    said = result.stdout + result.stderr
    assert result.returncode == mistake.code, said
    for words in mistake.words:
        assert words.format(**fill) in said, said
    for words in mistake.absent:
        assert words not in said, said
    if mistake.one_line:
        last = result.stderr.strip().splitlines()[-1]
        assert "error: " in last and all(w.format(**fill) in last for w in mistake.words), result.stderr
        if mistake.code != ExitCode.USAGE:  # argparse's usage lines come before its error line
            assert result.stderr.strip() == last, result.stderr


def test_a_run_after_a_rejected_key_says_nothing_of_an_interrupted_run(shared, tmp_path):
    place = Place(*shared, fresh=tmp_path)
    data = str(tmp_path / "data")
    failed = usercom_tickets(place, "run", "--data-dir", data, "--no-transform",
                             env=place.env(SOURCES__USERCOM__API_KEY=REAL_LOOKING_KEY))
    assert failed.returncode == ExitCode.API and "answered 401" in failed.stderr, failed.stderr
    again = usercom_tickets(place, "run", "--data-dir", data, "--no-transform")
    assert again.returncode == ExitCode.OK, again.stderr
    assert "59 tickets loaded (59 new, 0 updated or re-read), 1 rejected" in again.stdout  # all of them
    assert "interrupted" not in failed.stderr + again.stdout + again.stderr
