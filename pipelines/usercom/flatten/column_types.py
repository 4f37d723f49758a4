"""The run's column types: fixed for known fields, first-seen for discovered ones, kept across runs."""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa

from pipelines.usercom.flatten.coercion import infer_type
from pipelines.usercom.flatten.fields import TIMESTAMP

DLT_TO_ARROW = {"bigint": pa.int64(), "double": pa.float64(), "bool": pa.bool_(), "text": pa.string(),
                "timestamp": TIMESTAMP, "json": pa.string(), "decimal": pa.float64()}


class TypeRegistry:
    """Column types per table: fixed for known fields, first-seen for discovered ones, shared by all threads.

    Seeded from the pipeline's dlt schema so a column keeps its type across runs; a later value that does
    not fit goes to a variant column `<column>__v_<type>`, as dlt's own normaliser does.
    """

    def __init__(self, seed: dict[str, dict[str, pa.DataType]] | None = None) -> None:
        self._types: dict[str, dict[str, pa.DataType]] = {t: dict(c) for t, c in (seed or {}).items()}
        self._lock = threading.Lock()

    @classmethod
    def from_dlt_schema(cls, tables: dict[str, dict]) -> TypeRegistry:
        """Registry seeded with the column types already in a dlt schema's tables."""
        seed: dict[str, dict[str, pa.DataType]] = {}
        for name, table in tables.items():
            for column, spec in table.get("columns", {}).items():
                arrow_type = DLT_TO_ARROW.get(spec.get("data_type", ""))
                if arrow_type is not None:
                    seed.setdefault(name, {})[column] = arrow_type
        return cls(seed)

    def resolve(self, table: str, column: str, values: list[Any]) -> pa.DataType:
        """The type of `column` in `table`: the registered one, else inferred from `values` and registered."""
        with self._lock:
            columns = self._types.setdefault(table, {})
            if column not in columns:
                columns[column] = infer_type(values)
            return columns[column]

    def resolve_inferred(self, table: str, column: str, inferred: pa.DataType) -> pa.DataType:
        """`resolve` for values Arrow has typed already (bool, int64, double or string: what `infer_type` gives them)."""
        with self._lock:
            return self._types.setdefault(table, {}).setdefault(column, inferred)

    def tables(self) -> list[str]:
        """Names of every table the registry knows."""
        with self._lock:
            return list(self._types)

    def columns(self, table: str) -> dict[str, pa.DataType]:
        """The registered column types of `table`."""
        with self._lock:
            return dict(self._types.get(table, {}))
