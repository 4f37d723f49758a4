"""Runs this dbt project on a pipeline's destination, offline, in this process, with dlt's runner's
configuration and credentials.

dlt's runner (``dlt.dbt.package``) knows the pipeline's destination: the profile to use and the
credentials, which it hands dbt as ``DLT__CREDENTIALS__*`` environment variables. Its command method
(``_run_dbt_command``) starts a child ``python`` for every dbt command, which imports dlt and dbt again;
here dbt runs in this process through dbt's programmatic entry point (``dbtRunner``) instead, with the
same profile and variables (transforms/README.md, decision log: the figures). Also set up here:
- the profile is ours (``profiles/profiles.yml``): dlt's bundled DuckDB profile loads the ``httpfs``
  extension, which DuckDB downloads at run time, and the build must run without a network;
- dbt writes its ``target/`` (the saved parse) and ``logs/`` under the pipeline's working folder;
- no JSON artifacts (``manifest.json``, ``run_results.json``): dbt's results are read from memory.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.utils import add_config_to_env
from dlt.common.runners import Venv
from dlt.helpers.dbt.exceptions import DBTProcessingError
from dlt.helpers.dbt.runner import DBTPackageRunner

from transforms.catalog import PROJECT_DIR

PROFILES_DIR = PROJECT_DIR / "profiles"
# every run: nothing on the console (a failure is raised, said on one line by build.py; dbt printed ~200 lines of
# traceback for a database it could not open), everything in its log file (`log_file`), no JSON artifacts (1.2 s
# of CPU at 5,000 tickets)
BUILD_FLAGS = ("--log-level", "none", "--log-level-file", "debug", "--no-write-json")
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")  # dbt's unit tests run in `make test` (tests/test_dbt_project.py)


class DbtRun:
    """dbt commands on a pipeline's destination; ``results()`` holds what dbt reported of the last one."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.work_dir = Path(pipeline.working_dir) / "dbt"
        self.target_dir = self.work_dir / "target"
        self._results: list[dict[str, Any]] = []

    def runner(self) -> DBTPackageRunner:
        """dlt's dbt runner for this project on the pipeline's destination: our profiles, this interpreter."""
        runner = dlt.dbt.package(self.pipeline, str(PROJECT_DIR), venv=Venv.restore_current())
        runner.config.package_profiles_dir = str(PROFILES_DIR)
        return runner

    @contextmanager
    def environment(self, variables: dict[str, str]) -> Iterator[None]:
        """``variables`` set for dbt (and dlt's runner's credentials, if added within), all removed again after."""
        previous = dict(os.environ)
        os.environ.update(variables)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(previous)

    def build(self, target_schema: str, variables: dict[str, Any], environment: dict[str, str],
              extra_args: Sequence[str] = (), *, unit_tests: bool = False, profile: str | None = None) -> None:
        """``dbt build`` (every model, each followed by its data tests) into ``target_schema``, with ``variables``
        as dbt vars, ``environment`` set for dbt and ``extra_args`` after :data:`BUILD_FLAGS`; dbt's unit tests
        (``models/_unit_tests.yml``, each before its model) only when ``unit_tests``. ``profile`` names one of
        ``profiles/profiles.yml`` that needs no destination credentials (``spark``: the session of this process);
        by default the destination's, with its credentials.

        Raises dlt's ``DBTProcessingError`` when a model or a test fails; ``results()`` then tells which. A Ctrl-C
        or SIGTERM that dbt caught is raised again as it came (a KeyboardInterrupt), not as a failed build.
        """
        runner = self.runner() if profile is None else None
        package_vars = {"source_dataset_name": self.pipeline.dataset_name, "destination_dataset_name": target_schema,
                        **variables}
        args = ["build", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR),
                "--profile", profile or runner.config.package_profile_name, "--target-path", str(self.target_dir),
                "--log-path", str(self.work_dir / "logs"), "--vars", json.dumps(package_vars), *BUILD_FLAGS,
                *(() if unit_tests else NO_UNIT_TESTS), *extra_args]
        with self.environment(environment):
            if runner is not None:
                add_config_to_env(runner.credentials, ("dlt",))  # as dlt's runner hands them to dbt
            outcome = _invoke(args)
        self._results = _node_results(outcome.result)
        if isinstance(outcome.exception, KeyboardInterrupt):  # dbt returns the Ctrl-C or SIGTERM it caught
            raise outcome.exception
        if not outcome.success:
            raise DBTProcessingError("build", None, outcome.exception or outcome.result)

    def log_file(self) -> Path:
        """dbt's log of the commands run here, at debug level: what a failure's one line leaves out."""
        return self.work_dir / "logs" / "dbt.log"

    def results(self) -> list[dict[str, Any]]:
        """The node results of the last command: unique_id, status, message, failures, compiled_code, seconds."""
        return self._results


def _invoke(args: list[str]):
    """One dbt command in this process (dbt's ``dbtRunner``), with the DuckDB database closed after it."""
    from dbt.cli.main import dbtRunner  # ~2 s of imports, only when a build runs

    # what the imports made lives as long as the process: kept out of the collector's passes while dbt runs
    # (5,000 tickets: the collector's CPU 1.0 -> 0.75 s a build, timed by gc.callbacks; gc.disable: +35 MB RSS)
    gc.freeze()
    try:
        return dbtRunner().invoke(args)
    finally:
        # dbt-duckdb keeps its database open for the next command in the process; readers open it read-only
        connections = sys.modules.get("dbt.adapters.duckdb.connections")
        if connections is not None:
            connections.DuckDBConnectionManager.close_all_connections()
            gc.collect()  # the DuckDB instance closes when its last reference goes
        gc.unfreeze()


def _node_results(result: Any) -> list[dict[str, Any]]:
    """dbt's node results as plain dicts, in the order dbt ran them (none when dbt stopped before running)."""
    nodes = []
    for node_result in getattr(result, "results", None) or []:
        node = node_result.node
        nodes.append({"unique_id": node.unique_id, "status": str(node_result.status), "message": node_result.message,
                      "failures": node_result.failures, "compiled_code": getattr(node, "compiled_code", None),
                      "seconds": node_result.execution_time})
    return nodes


def failed_nodes(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of models and tests that failed or errored, in the order dbt ran them."""
    return [r for r in results if r.get("status") in ("fail", "error")]


def node_name(result: dict[str, Any]) -> str:
    """A result's node name (``accepted_status_values``, ``not_null_stg_tickets_created_at``, ``fct_tickets``)."""
    return result["unique_id"].split(".")[2]


__all__ = ["DBTProcessingError", "DbtRun", "failed_nodes", "node_name"]
