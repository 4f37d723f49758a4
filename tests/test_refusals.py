"""A run that is refused, or fails before it loads, changes nothing stored: not the destination dlt keeps in its
state, not the schema, not a cursor. Each fault runs the real command on a copy of one loaded data directory."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines.lock import RunLock
from tests.conftest import query, run
from tests.test_faults_process import cli_env
from tests.test_http_contract import cli

# (name, extra arguments, extra environment, words the one error line must hold)
FAULTS = [
    ("a destination the marts are not built on", ["--destination", "filesystem"], {}, "not on filesystem"),
    ("an SLA policy that does not read", ["--policy", "{bad_policy}"], {}, "policy"),
    ("the data directory locked by another run", [], {}, "another usercom-tickets run"),
    ("no API key", ["--no-transform"], {"SOURCES__USERCOM__API_KEY": ""}, "Missing the User.com API key"),
    ("a destination without its credentials", ["--no-transform", "--destination", "postgres"], {}, "credentials"),
    ("a memory limit DuckDB refuses", ["--no-transform"], {"USERCOM_DUCKDB_MEMORY_LIMIT": "lots"}, "memory_limit"),
    ("a request rate below zero", ["--no-transform"], {"SOURCES__USERCOM__REQUESTS_PER_SECOND": "-1"},
     "requests_per_second"),
    ("a deletion guard share above 1", ["--no-transform"], {"USERCOM_MAX_UNLISTED_SHARE": "2"},
     "usercom_max_unlisted_share"),
    ("an API that fails every request", ["--no-transform"], {"SOURCES__USERCOM__MAX_ATTEMPTS": "2"}, "kept failing"),
]


def stored(data: Path) -> dict[str, object]:
    """What a run keeps: every file of dlt's pipeline folder but its last trace, by content, and dlt's tables and
    the tickets in the DuckDB file (the run log, `runs`, is meant to change: a refused run may leave its row)."""
    folder = data / ".dlt"
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "trace.pickle"}
    tables = {t: query(data, f"SELECT * FROM usercom.{t} ORDER BY ALL")
              for t in ("_dlt_pipeline_state", "_dlt_version", "_dlt_loads", "tickets", "tickets_unlisted")}
    return {"files": files, **tables}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A data directory loaded once from a sandbox (kept for the module), and that sandbox."""
    from pipelines.sandbox import SandboxOptions, SandboxServer

    server = SandboxServer(SandboxOptions(tickets=200, page_size=50)).start()
    template = tmp_path_factory.mktemp("loaded") / "data"
    run(server, template)
    yield server, template
    server.stop()


@pytest.mark.parametrize(("fault", "args", "env", "said"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_refused_or_failed_run_changes_nothing_stored(loaded, tmp_path, fault, args, env, said):
    server, template = loaded
    data = tmp_path / "data"
    shutil.copytree(template, data)
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text("[targets]\nfirst_response = 'soon'\n")
    args = [a.format(bad_policy=bad_policy) for a in args]
    before = stored(data)
    server.update_ticket(server.tickets()[0]["id"], name=f"changed before: {fault}")  # a cursor that moved would skip it
    server.options.error_rate = 1.0 if "fails every request" in fault else 0.0
    try:
        if "locked" in fault:
            with RunLock(data):
                result = cli("run", "--data-dir", str(data), *args, env={**cli_env(server), **env})
        else:
            result = cli("run", "--data-dir", str(data), *args, env={**cli_env(server), **env})
    finally:
        server.options.error_rate = 0.0
    assert result.returncode != 0 and said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    after = stored(data)
    assert {k: v for k, v in after["files"].items() if before["files"].get(k) != v} == {}
    assert set(after["files"]) == set(before["files"])
    assert after == before

    again = cli("run", "--data-dir", str(data), "--no-transform", env=cli_env(server))
    assert again.returncode == 0, again.stderr
    assert "differs" not in again.stderr, again.stderr  # dlt's warning when the destination kept in state changed
    assert query(data, f"SELECT name FROM usercom.tickets WHERE id = {server.tickets()[0]['id']}") == [
        (f"changed before: {fault}",)]
