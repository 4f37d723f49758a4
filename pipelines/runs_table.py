"""Table `runs`: one row per run, in the dataset the tickets load into, appended through dlt's job client.

The table is declared as a dlt schema of its own (`usercom_runs`), and dlt's job client for the destination creates
the dataset and the table from it (or adds a column a newer version declares), with each destination's types, and
records that schema version in `_dlt_version`; the row itself is one INSERT through the client's SQL connection.
No dlt pipeline is involved: nothing is written to the `usercom` pipeline's state, packages or `_dlt_loads`, so a
failed run can write its row without touching its tickets or cursor. Measured on DuckDB after runs of 20,000 and
100,000 tickets: 38-95 ms a row once the schema version is stored (a dlt pipeline `run` of the same row took ~400 ms:
its config, extract, normalize and load steps).
"""

from __future__ import annotations

from dlt.common.destination import TDestinationReferenceArg
from dlt.common.schema import Schema
from dlt.common.schema.typing import TColumnSchema
from dlt.common.schema.utils import new_table
from dlt.dataset.utils import get_destination_clients
from dlt.destinations.job_client_impl import SqlJobClientBase

from pipelines.usercom.errors import UsercomError

RUNS_TABLE = "runs"
RUNS_SCHEMA = "usercom_runs"  # the dlt schema that declares the table (its versions in `_dlt_version`)

# name, dlt type, description: docs/operations.md's table of the run log says the same
COLUMNS: list[tuple[str, str, str]] = [
    ("run_id", "text", "a UUID, one per run"),
    ("started_at", "timestamp", "when the run started (UTC)"),
    ("finished_at", "timestamp", "when it ended, well or not (UTC)"),
    ("outcome", "text", "ok, failed or interrupted (Ctrl-C, SIGTERM)"),
    ("destination", "text", "duckdb, parquet, postgres, ..."),
    ("statuses", "text", "the statuses asked for, comma-separated"),
    ("pages", "bigint", "API pages read"),
    ("tickets_received", "bigint", "tickets the API listed to this run"),
    ("tickets_loaded", "bigint", "new or changed tickets loaded (0 for a run that did not end ok)"),
    ("tickets_rejected", "bigint", "tickets that went to tickets_rejected"),
    ("tickets_deleted", "bigint", "tickets marked deleted by this run"),
    ("deletions_held", "bigint", "live tickets a complete run did not list, too many to believe: none marked deleted "
                                 "(the guard against mass disappearance); 0 otherwise"),
    ("retries", "bigint", "requests tried again (429, 5xx, network errors, bodies cut short)"),
    ("throttled", "bigint", "answers that were the API throttling (429, or 401 once the key had worked)"),
    ("seconds", "double", "the run's duration"),
    ("error", "text", "why it failed, on one line, without secrets; null when ok"),
]


class RunLogUnsupported(UsercomError):
    """The destination has no SQL connection to append a row with (e.g. `filesystem`)."""


def runs_schema() -> Schema:
    """The dlt schema `usercom_runs` declaring table `runs` (append only), as stored (not modified since)."""
    columns: list[TColumnSchema] = [
        {"name": name, "data_type": data_type, "nullable": name != "run_id", "description": description,
         **({"timezone": True} if data_type == "timestamp" else {})}
        for name, data_type, description in COLUMNS
    ]
    table = new_table(RUNS_TABLE, write_disposition="append", columns=columns)
    table["description"] = "One row per usercom-tickets run, failed and interrupted runs included."
    schema = Schema(RUNS_SCHEMA)
    schema.update_table(table)
    # a dlt job client refuses a schema modified since it was stored: this one is stored as it stands (built by dlt's
    # own helpers just above, so not validated again: that took ~20 ms, half of writing a row)
    return Schema.from_dict(schema.to_dict(), validate_schema=False)


def append_run_row(destination: TDestinationReferenceArg, dataset_name: str, row: dict[str, object]) -> None:
    """Appends `row` (COLUMNS' names) to `<dataset_name>.runs` on `destination`, first creating the dataset and the
    table, or adding a column they lack, when this schema version is not stored there yet. Raises what the
    destination raises (a read-only file, a stopped server, no permission), or `RunLogUnsupported`."""
    client = get_destination_clients(runs_schema(), destination=destination, destination_dataset_name=dataset_name)[0]
    if not isinstance(client, SqlJobClientBase):
        raise RunLogUnsupported(f"the run log is a SQL table; the {client.config.destination_type} destination has no "
                                "SQL connection to append it with")
    with client:
        client.initialize_storage()
        client.update_stored_schema()
        sql = client.sql_client
        names = ", ".join(sql.escape_column_name(name) for name in row)
        sql.execute_sql(f"INSERT INTO {sql.make_qualified_table_name(RUNS_TABLE)} ({names}) "
                        f"VALUES ({', '.join(['%s'] * len(row))})", *row.values())
