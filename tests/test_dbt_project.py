"""The dbt project's own checks: its unit tests (models/_unit_tests.yml) pass, and it builds free of dbt's
deprecation warnings (the condition to move to the next dbt), with dbt's deprecations made errors."""

from __future__ import annotations

import shutil

import pytest
import yaml

from pipelines.job.pipeline import make_pipeline
from tests.test_transforms import BUSINESS_POLICY, HISTORY_VERSIONS, TICKETS, write_raw_tables
from transforms import dbt_runner
from transforms.catalog import PROJECT_DIR
from transforms.policy import dbt_env, dbt_vars, load_policy

DEPRECATIONS_ARE_ERRORS = ("--warn-error-options", '{"error": ["Deprecations"]}')
UNIT_TESTS = {"a_reopen_is_a_close_then_a_reopen_then_a_second_close", "the_business_clock_stands_still_on_a_holiday",
              "a_draft_pause_stops_the_sla_clock", "due_date_verdicts"}


def build_with_unit_tests(tmp_path, *, extra_args=DEPRECATIONS_ARE_ERRORS) -> dbt_runner.DbtRun:
    """A first build (dbt parses the whole project, so parse-time deprecations show) with a business-hours
    schedule (every model enabled), dbt's unit tests included, deprecations as errors."""
    write_raw_tables(tmp_path / "tickets.duckdb", TICKETS, HISTORY_VERSIONS)
    policy_path = tmp_path / "sla_policy.toml"
    policy_path.write_text(BUSINESS_POLICY)
    policy = load_policy(policy_path)
    run = dbt_runner.DbtRun(make_pipeline(tmp_path))
    run.build("analytics", {"usercom_schema": "usercom", **dbt_vars(policy)}, dbt_env(policy), extra_args,
              unit_tests=True)
    return run


def test_unit_tests_pass_in_a_build_without_deprecation_warnings(tmp_path):
    run = build_with_unit_tests(tmp_path)  # raises on a failed unit test, data test or deprecation

    results = {dbt_runner.node_name(r): r["status"] for r in run.results()}
    unit = {r["unique_id"].split(".")[-1]: r["status"] for r in run.results() if r["unique_id"].startswith("unit_test.")}
    assert unit == dict.fromkeys(UNIT_TESTS, "pass")
    assert results["fct_tickets"] == "success" and results["int_business_windows"] == "success"


def test_a_deprecated_construct_fails_the_build_naming_it(tmp_path, monkeypatch):
    # a generic test's arguments beside it rather than under `arguments:` is deprecated since dbt 1.10
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    spec_path = project / "models" / "marts" / "fct_tickets.yml"
    spec = yaml.safe_load(spec_path.read_text())
    column = next(c for c in spec["models"][0]["columns"] if c["name"] == "priority_id")
    column["data_tests"] = [{"relationships": {"to": "ref('dim_priorities')", "field": "priority_id"}}]
    spec_path.write_text(yaml.safe_dump(spec))
    monkeypatch.setattr(dbt_runner, "PROJECT_DIR", project)

    with pytest.raises(dbt_runner.DBTProcessingError) as failed:
        build_with_unit_tests(tmp_path)

    assert "MissingArgumentsPropertyInGenericTestDeprecation" in str(failed.value.dbt_results)
    assert dbt_runner.DbtRun(make_pipeline(tmp_path)).results() == []  # stopped at the parse: no model ran
