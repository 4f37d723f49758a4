"""The marts' column checks, consolidated (one ``mart_checks`` data test per mart for its key, relationships and
accepted values; the contract's not_null constraints for nulls), still fail a build on the faults dbt's
one-test-per-column checks caught, naming the mart, the check and the column.

Each test builds a copy of the dbt project with a fault written into a mart's SQL (the marts are built from
the same tickets, so an orphan key or a repeated row cannot come from the raw data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_transforms import CAROL, HISTORY_VERSIONS, TICKETS, build, policy_file, write_raw_tables  # noqa: F401
from transforms import dbt_runner
from transforms.catalog import PROJECT_DIR
from transforms.errors import DataTestFailed, ModelFailed

FAULTS = {  # mart: the select wrapped around its SQL (``{sql}``)
    # agent 3 (Carol) missing from dim_agents: the ticket assigned to her and its history are orphans
    "dim_agents": "select * from (\n{sql}\n) as original where agent_id <> 3",
    # one priority's row twice: the key repeats
    "rpt_sla_by_priority": "select * from (\n{sql}\n) as original\nunion all\n"
                           "select * from (select * from (\n{sql}\n) as again order by priority_id limit 1) as repeated",
    # an interval entered in a way the mart does not know
    "fct_ticket_status_intervals": "select * replace (case when interval_seq = 1 then 'guessed' else entered_from end "
                                   "as entered_from) from (\n{sql}\n) as original",
}


def faulty_project(tmp_path: Path, faults: dict[str, str]) -> Path:
    """A copy of the dbt project with each mart of ``faults`` wrapped in its select."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    for mart, wrapper in faults.items():
        path = project / "models" / "marts" / f"{mart}.sql"
        path.write_text(wrapper.format(sql=path.read_text()))
    return project


def test_an_orphan_key_a_repeated_key_and_an_unknown_value_fail_the_build_naming_mart_check_and_column(
        tmp_path, policy_file, monkeypatch):  # noqa: F811
    assert [t["id"] for t in TICKETS if t["assigned_to"] == CAROL] == [105]
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    monkeypatch.setattr(dbt_runner, "PROJECT_DIR", faulty_project(tmp_path, FAULTS))

    with pytest.raises(DataTestFailed) as failed:
        build(db, policy_path=policy_file)

    found = {(f.name, s["failed_check"], s["column_name"]) for f in failed.value.failures for s in f.samples}
    assert {("fct_tickets_checks", "relationships", "assignee_id"),
            ("fct_ticket_history_checks", "relationships", "assignee_id"),
            ("rpt_sla_by_priority_checks", "key", "priority_id"),
            ("fct_ticket_status_intervals_checks", "accepted_values", "entered_from")} <= found
    orphans = {s["offending_value"] for f in failed.value.failures for s in f.samples
               if (f.name, s["column_name"]) == ("fct_tickets_checks", "assignee_id")}
    assert orphans == {"3"}
    message = str(failed.value)
    assert "fct_tickets_checks" in message and "column_name='assignee_id'" in message and "offending_value='3'" in message
    assert "failed_check='accepted_values', column_name='entered_from', offending_value='guessed'" in message


def test_a_null_in_a_mart_column_its_contract_declares_not_null_fails_the_build_naming_the_column(
        tmp_path, policy_file, monkeypatch):  # noqa: F811
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    fault = "select * replace (case when agent_id = 3 then null else week_start end as week_start) from (\n{sql}\n) as w"
    monkeypatch.setattr(dbt_runner, "PROJECT_DIR", faulty_project(tmp_path, {"agg_sla_by_agent": fault}))

    with pytest.raises(ModelFailed, match=r"dbt could not build agg_sla_by_agent: .*NOT NULL.*week_start"):
        build(db, policy_path=policy_file)


def test_a_null_ticket_id_fails_the_build_when_custom_attributes_turn_the_contract_off(tmp_path, monkeypatch):
    from tests.test_history_marts import ATTRIBUTES_POLICY, ATTRIBUTES_YML

    (tmp_path / "sla_policy.toml").write_text(ATTRIBUTES_POLICY)
    (tmp_path / "ticket_attributes.yml").write_text(ATTRIBUTES_YML)
    db = tmp_path / "tickets.duckdb"
    write_raw_tables(db, TICKETS, HISTORY_VERSIONS)
    fault = "select * replace (case when ticket_id = 105 then null else ticket_id end as ticket_id) from (\n{sql}\n) as t"
    monkeypatch.setattr(dbt_runner, "PROJECT_DIR", faulty_project(tmp_path, {"fct_tickets": fault}))

    with pytest.raises(DataTestFailed) as failed:
        build(db, policy_path=tmp_path / "sla_policy.toml")

    assert "fct_tickets_checks" in {f.name for f in failed.value.failures}
    assert "failed_check='not_null', column_name='ticket_id'" in str(failed.value)
