"""One connection to the local DuckDB file held open while dlt loads into it, with the load's memory bound."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt
import duckdb

from pipelines.usercom.errors import UsercomConfigError

# while loading; USERCOM_DUCKDB_MEMORY_LIMIT (or usercom_duckdb_memory_limit) overrides. Peak RSS / load time
# (2 cores): 1,000,000 tickets 523 MB / 10.7 s at 256MB, 458 / 12.9 at 192MB, 402 / 15.2 at 128MB; the
# 100,000-ticket load takes ~0.2 s longer at 192MB than at 256MB.
DUCKDB_MEMORY_LIMIT = "192MB"

log = logging.getLogger("usercom.load")


@contextmanager
def database_held_open(database: Path | None) -> Iterator[None]:
    """Keeps one connection to `database` open while dlt loads into it (None: a destination of its own).

    DuckDB checkpoints a file when its last connection closes, and dlt opens and closes its own for every
    load job: at 100,000 tickets that was 18 opens and checkpoints, 1.2 s of a 2.7 s load. While this
    connection is open, dlt's connections (same file, same process) share the open database, and the
    file is checkpointed once, when this one closes.

    It also bounds DuckDB's memory for the load (`usercom_duckdb_memory_limit`, default 192 MB; insertion
    order is not kept, which merges do not need): dlt sets `checkpoint_threshold` to 1 GB, so every table
    it loads stays in memory until the end, and unbounded a 1,000,000-ticket load took 1.5 GB. One thread
    per query, as tables already load side by side: the load at 100,000 tickets took 1.0 s instead of
    1.25 s, and at 1,000,000 11.9 s instead of 13.9 s (2 cores).
    """
    if database is None:
        yield
        return
    connection = duckdb.connect(str(database))
    limit = dlt.config.get("usercom_duckdb_memory_limit", str) or DUCKDB_MEMORY_LIMIT
    try:
        connection.execute("SET memory_limit = ?", [limit])
        connection.execute("SET preserve_insertion_order = false")
        connection.execute("SET threads = 1")
    except duckdb.Error as error:
        connection.close()
        raise UsercomConfigError(f"usercom_duckdb_memory_limit = {limit!r} was refused by DuckDB ({str(error).splitlines()[0]}); "
                                 "give a size such as '512MB' or '2GB'.") from None
    try:
        yield
    finally:
        try:
            connection.close()
        except duckdb.Error as error:  # a failed load is reported by dlt's error; a clean one checkpoints here
            log.warning("closing %s: %s", database, str(error).splitlines()[0])
