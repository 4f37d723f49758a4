"""How each table merges into the destination: dlt's table hints (write disposition, keys, dedup order, deletes)."""

from __future__ import annotations

import dlt
from dlt.common.schema import Schema
from dlt.extract.hints import make_hints

from pipelines.usercom import settings as s

TABLE_HINTS = {
    s.TICKETS_TABLE: make_hints(
        table_name=s.TICKETS_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key="id", columns={"updated_at": {"dedup_sort": "desc"}},
    ),
    s.HISTORY_TABLE: make_hints(
        table_name=s.HISTORY_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["id", "updated_at"],
    ),
    s.REJECTS_TABLE: make_hints(
        table_name=s.REJECTS_TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key="reject_key",
    ),
}


def child_table_hints(table: str):
    """Merge hints of a child table: a ticket's new rows replace all its old ones; tombstones delete."""
    return make_hints(
        table_name=table, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=[s.CHILD_KEY, s.CHILD_POSITION], merge_key=s.CHILD_KEY,
        columns={s.CHILD_VERSION: {"dedup_sort": "desc"}, s.TOMBSTONE: {"hard_delete": True, "data_type": "bool"}},
    )


def with_hints(table: str, arrow_table):
    """`arrow_table` as a dlt item of `table`, carrying that table's merge hints."""
    return dlt.mark.with_hints(arrow_table, TABLE_HINTS.get(table) or child_table_hints(table), create_table_variant=True)


# pipelines/deletions.py fills these after the load; no item carries them
DELETION_COLUMNS = {
    s.TICKETS_TABLE: {s.DELETED_AT: {"name": s.DELETED_AT, "data_type": "timestamp", "nullable": True}},
    s.UNLISTED_TABLE: {
        "id": {"name": "id", "data_type": "bigint", "nullable": False},
        "complete_run": {"name": "complete_run", "data_type": "bigint", "nullable": False},
        "unlisted_at": {"name": "unlisted_at", "data_type": "timestamp", "nullable": False},
    },
}


def declare_deletion_columns(schema: Schema) -> None:
    """`tickets.deleted_at` and the table `tickets_unlisted` in the source's schema on every run: dlt creates
    `deleted_at` with `tickets`, a ticket merged again gets it back null (listed again, it is live), and
    pipelines/deletions.py has dlt add what a destination loaded before they existed lacks."""
    for table, columns in DELETION_COLUMNS.items():
        schema.update_table({"name": table, "columns": columns})
