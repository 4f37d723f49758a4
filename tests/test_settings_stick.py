"""Settings that stick: the destination and the SLA policy file set once (dlt config or environment, section
`usercom`), and a data directory's commands working on the destination it was last loaded into, without flags."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.job.pipeline import DUCKDB_FILE
from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.stored_settings import last_loaded_destination
from tests.test_http_contract import cli
from transforms.policy import DEFAULT_POLICY_PATH

AS_OF = "2024-06-01T00:00:00Z"  # the sandbox's tickets are generated up to this moment


def own_policy(folder: Path) -> Path:
    """A copy of the packaged policy with an Urgent target of 5 hours, which the report shows."""
    text = DEFAULT_POLICY_PATH.read_text()
    assert "\nUrgent = 4\n" in text
    path = folder / "my_policy.toml"
    path.write_text(text.replace("\nUrgent = 4\n", "\nUrgent = 5\n"))
    return path


def urgent_target(report: str) -> str:
    """The target hours the report's SLA table shows for Urgent."""
    return re.search(r"^Urgent\s+(\S+)\s", report, re.MULTILINE)[1]


def source_env(server) -> dict:
    return {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url}


def test_destination_and_policy_set_once_in_config_toml_hold_for_run_transform_report_and_export(sandbox, tmp_path):
    server = sandbox(tickets=200)
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    own_policy(project)
    (project / ".dlt" / "config.toml").write_text('[usercom]\ndestination = "parquet"\npolicy = "my_policy.toml"\n')
    env = source_env(server)

    run = cli("run", "--as-of", AS_OF, env=env, cwd=project)
    assert run.returncode == 0, run.stderr
    data = project / "data"
    assert (data / "parquet" / "usercom" / "tickets.parquet").is_file()  # parquet, as set: the snapshots were published
    assert "built " in run.stdout and "WARNING" not in run.stderr

    transform = cli("transform", "--as-of", AS_OF, env=env, cwd=project)
    assert transform.returncode == 0, transform.stderr
    report = cli("report", env=env, cwd=project)
    assert report.returncode == 0, report.stderr
    assert urgent_target(report.stdout) == "5"  # the policy file set in config.toml, not the packaged one (4)
    export = cli("export", "--out", "marts", env=env, cwd=project)
    assert export.returncode == 0, export.stderr
    assert (project / "marts" / "rpt_sla_by_priority.parquet").is_file()


def test_destination_and_policy_set_in_the_environment_hold_for_run_and_report(sandbox, tmp_path):
    server = sandbox(tickets=100)
    policy = own_policy(tmp_path)
    data = tmp_path / "data"
    env = {**source_env(server), "USERCOM__DESTINATION": "parquet", "USERCOM__POLICY": str(policy)}

    run = cli("run", "--data-dir", str(data), "--as-of", AS_OF, env=env)
    assert run.returncode == 0, run.stderr
    assert (data / "parquet" / "usercom" / "tickets.parquet").is_file()
    report = cli("report", "--data-dir", str(data), env=env)
    assert report.returncode == 0 and urgent_target(report.stdout) == "5"


def test_a_directory_loaded_as_parquet_stays_parquet_for_the_next_run_report_transform_and_export(sandbox, tmp_path):
    server = sandbox(tickets=100)
    env = source_env(server)
    data = tmp_path / "data"
    first = cli("run", "--data-dir", str(data), "--destination", "parquet", "--as-of", AS_OF, "--no-transform", env=env)
    assert first.returncode == 0, first.stderr
    assert last_loaded_destination(data) == "parquet"
    snapshot = data / "parquet" / "usercom" / "tickets.parquet"
    snapshot.unlink()

    again = cli("run", "--data-dir", str(data), "--as-of", AS_OF, env=env)  # no --destination: parquet, remembered
    assert again.returncode == 0, again.stderr
    assert snapshot.is_file() and f"parquet: {data / 'parquet' / 'usercom'}" in again.stdout
    assert "WARNING" not in again.stderr
    for command in (["transform", "--as-of", AS_OF], ["report"], ["export", "--out", str(tmp_path / "marts")]):
        done = cli(command[0], "--data-dir", str(data), *command[1:], env=env)
        assert done.returncode == 0 and "WARNING" not in done.stderr, (command, done.stderr)
    assert (tmp_path / "marts" / "fct_tickets.parquet").is_file()
    assert last_loaded_destination(data) == "parquet"


def test_a_directory_loaded_into_postgres_is_reported_and_transformed_there_without_the_flag(
        postgres, sandbox, tmp_path):
    server = sandbox(tickets=150)
    env = {**source_env(server), "DESTINATION__POSTGRES__CREDENTIALS": postgres.url}
    data = tmp_path / "data"
    # other tests' tickets are in the suite's PostgreSQL: most go unlisted, which the deletion guard would hold
    run = cli("run", "--destination", "postgres", "--data-dir", str(data), "--no-transform", "--allow-mass-deletion",
              env=env)
    assert run.returncode == 0, run.stderr
    assert last_loaded_destination(data) == "postgres"

    transform = cli("transform", "--data-dir", str(data), "--as-of", AS_OF, env=env)
    assert transform.returncode == 0, transform.stderr
    assert "on postgres as of 2024-06-01T00:00:00+00:00" in transform.stdout
    report = cli("report", "--data-dir", str(data), env=env)
    assert report.returncode == 0, report.stderr
    assert "SLA by priority, tickets created up to 2024-06-01 00:00 UTC" in report.stdout
    assert not (data / DUCKDB_FILE).exists()  # nothing looked for a local file
    for output in (transform, report):
        assert "WARNING" not in output.stderr and postgres.password not in output.stdout + output.stderr

    # a flag that disagrees with the last load is followed, with a warning naming both
    local = cli("report", "--data-dir", str(data), "--destination", "duckdb", env=env)
    assert local.returncode != 0 and "no data in" in local.stderr
    assert re.search(r"--destination says duckdb, but .* was last loaded into postgres", local.stderr), local.stderr
    assert last_loaded_destination(data) == "postgres"


def test_settings_that_cannot_be_used_are_refused_with_exit_code_4_naming_them(tmp_path):
    (tmp_path / ".dlt").mkdir()
    config = tmp_path / ".dlt" / "config.toml"
    config.write_text('[usercom]\npolicy = "missing.toml"\n')
    missing = cli("transform", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert missing.returncode == 4
    assert "usercom.policy = 'missing.toml': no such file" in missing.stderr and "USERCOM__POLICY" in missing.stderr
    flagged = cli("transform", "--data-dir", str(tmp_path / "data"), "--policy", str(DEFAULT_POLICY_PATH), cwd=tmp_path)
    assert "usercom.policy" not in flagged.stderr and "no data in" in flagged.stderr  # the flag wins over the setting

    config.write_text('[usercom]\ndestination = "duckbd"\n')
    unknown = cli("report", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert unknown.returncode == 4, unknown.stderr
    where = f"set in [usercom] destination of {config.resolve()}"
    assert f"usercom.destination = 'duckbd', {where}: no such destination" in unknown.stderr
    assert "choose one of duckdb, parquet, postgres" in unknown.stderr and len(unknown.stderr.splitlines()) == 1
    flagged = cli("report", "--data-dir", str(tmp_path / "data"), "--destination", "duckdb", cwd=tmp_path)
    assert "usercom.destination" not in flagged.stderr and "no data in" in flagged.stderr  # the flag wins

    config.write_text("[usercom]\ndestination = 5\n")
    wrong = cli("report", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert wrong.returncode == 4 and "usercom.destination = 5" in wrong.stderr and "USERCOM__DESTINATION" in wrong.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was touched
