"""Column and table names as dlt will store them, so a clash is seen (and its ticket rejected) while flattening."""

from __future__ import annotations

from dlt.common.normalizers.naming import NamingConvention
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCase


class StoredNames:
    """Column and table names as dlt will store them (its naming convention's `normalize_path`), cached.

    Columns are emitted under these names, so two fields that dlt would fold into one column (`Foo` and
    `foo`, `ü` and `é`, a top-level `a__b` and `a: {b}`) are seen here, where the ticket that holds the
    second one can be rejected with the reason, instead of failing the whole run inside dlt or silently
    overwriting a value. Empty names and dlt's own `_dlt` prefix are not usable either.
    """

    def __init__(self, naming: NamingConvention | None = None) -> None:
        self._naming = naming or SnakeCase()
        self._cache: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        """The stored name of `name`; "" when it has none."""
        stored = self._cache.get(name)
        if stored is None:
            try:
                stored = self._naming.normalize_path(name) if name else ""
            except Exception:  # noqa: BLE001 (a naming convention may refuse a name in any way)
                stored = ""
            if stored.startswith("_dlt"):
                stored = ""
            self._cache[name] = stored
        return stored
