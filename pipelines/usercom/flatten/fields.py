"""The ticket fields the code knows, with the Arrow type each is stored as, and the names derived from them.

A field not listed here is still kept: objects flatten to `parent__field` columns, lists become child tables,
scalars become columns typed by the run's `TypeRegistry` (column_types.py).
"""

from __future__ import annotations

import pyarrow as pa

from pipelines.usercom import settings as s

TIMESTAMP = pa.timestamp("us", tz="UTC")

# Column types of the known scalar fields; nested objects flatten to `parent__field`.
TICKET_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "status": pa.string(),
    "name": pa.string(),
    "description": pa.string(),
    "custom_id": pa.string(),
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "due_date": TIMESTAMP,
}
AGENT_FIELDS = {"id": pa.int64(), "name": pa.string(), "avatar": pa.string()}
OBJECT_FIELDS: dict[str, dict[str, pa.DataType]] = {
    "assigned_to": AGENT_FIELDS,
    "author": AGENT_FIELDS,
    "priority": {"id": pa.int64(), "name": pa.string(), "order": pa.int64()},
    "person": {"id": pa.int64(), "name": pa.string(), "email": pa.string()},
    "company": {"id": pa.int64(), "name": pa.string()},
}
LIST_FIELDS: dict[str, dict[str, pa.DataType]] = {
    "segments": {"name": pa.string(), "url": pa.string()},
    "participants": {"id": pa.int64(), "name": pa.string(), "email": pa.string()},
    "attachments": {"id": pa.int64(), "name": pa.string(), "url": pa.string(), "size": pa.int64(), "content_type": pa.string()},
    "status_history": {"entered_at": TIMESTAMP, "status": pa.string()},
}

KNOWN_TOP_FIELDS = set(TICKET_COLUMNS) | set(OBJECT_FIELDS) | set(LIST_FIELDS)
CHILD_PREFIX = s.TICKETS_TABLE + "__"
# Objects nested deeper than this are kept as JSON text in one column instead of one column per leaf.
MAX_FLATTEN_DEPTH = 12
