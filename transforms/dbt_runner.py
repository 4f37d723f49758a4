"""Runs this dbt project with dlt's dbt runner on a pipeline's destination, offline, with our interpreter.

dlt's runner (``dlt.dbt.package``) hands dbt the pipeline's credentials as ``DLT__CREDENTIALS__*``
environment variables of a child ``python`` process. Three things are set up here:
- the profile is ours (``profiles/profiles.yml``): dlt's bundled DuckDB profile loads the ``httpfs``
  extension, which DuckDB downloads at run time, and the build must run without a network;
- the child is this process's interpreter: dlt starts ``python`` from ``PATH`` when no virtualenv is
  active, and a cron job's ``PATH`` does not hold ours;
- dbt writes its ``target/`` and ``logs/`` under the pipeline's working folder, not into the package.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.runners import Venv
from dlt.helpers.dbt.exceptions import DBTProcessingError
from dlt.helpers.dbt.runner import DBTPackageRunner

from transforms.catalog import PROJECT_DIR

PROFILES_DIR = PROJECT_DIR / "profiles"


class DbtRun:
    """One dbt command on a pipeline's destination; ``results()`` reads what dbt recorded of it."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.work_dir = Path(pipeline.working_dir) / "dbt"
        self.target_dir = self.work_dir / "target"

    def runner(self) -> DBTPackageRunner:
        """dlt's dbt runner for this project on the pipeline's destination: our profiles, this interpreter."""
        runner = dlt.dbt.package(self.pipeline, str(PROJECT_DIR), venv=self._current_interpreter())
        runner.config.package_profiles_dir = str(PROFILES_DIR)
        return runner

    @contextmanager
    def environment(self, variables: dict[str, str]) -> Iterator[None]:
        """Environment variables for the dbt process: ``variables``, and dbt's target and log folders in ours."""
        variables = {"DBT_TARGET_PATH": str(self.target_dir), "DBT_LOG_PATH": str(self.work_dir / "logs"), **variables}
        previous = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def build(self, target_schema: str, variables: dict[str, Any], environment: dict[str, str]) -> None:
        """``dbt build`` (every model, each followed by its tests) into ``target_schema``, with ``variables``
        as dbt vars and ``environment`` set for dbt.

        Raises dlt's ``DBTProcessingError`` when a model or a test fails; ``results()`` then tells which.
        """
        package_vars = {"source_dataset_name": self.pipeline.dataset_name, "destination_dataset_name": target_schema,
                        **variables}
        with self.environment(environment):
            # private: public run+test (2 dbt processes) took 26.8/80.0 s, build 17.9/70.0 (100k/1M, bench 2026-12-01)
            self.runner()._run_dbt_command("build", [], package_vars)

    def results(self) -> list[dict[str, Any]]:
        """The node results of the last dbt command (``run_results.json``): unique_id, status, message, compiled_code."""
        path = self.target_dir / "run_results.json"
        if not path.exists():
            return []
        return json.loads(path.read_text(encoding="utf-8"))["results"]

    def _current_interpreter(self) -> Venv:
        """dlt's Venv that starts this very interpreter as ``python`` (a two-line shim in our work folder)."""
        bin_dir = self.work_dir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        shim = bin_dir / "python"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
        return Venv(types.SimpleNamespace(bin_path=str(bin_dir), env_exe=sys.executable), current=True)


def failed_nodes(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of models and tests that failed or errored, in the order dbt ran them."""
    return [r for r in results if r.get("status") in ("fail", "error")]


def node_name(result: dict[str, Any]) -> str:
    """A result's node name (``accepted_status_values``, ``not_null_stg_tickets_created_at``, ``fct_tickets``)."""
    return result["unique_id"].split(".")[2]


__all__ = ["DBTProcessingError", "DbtRun", "failed_nodes", "node_name"]
