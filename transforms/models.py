"""Find the SQL models and order them by the relations they read.

A model is one ``.sql`` file under ``staging/``, ``intermediate/`` or ``marts/`` holding one
``select``; it creates ``analytics.<file name>``. Its dependencies are the ``analytics.<name>``
references in its text (comments aside), so the build order never depends on how files are listed.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "analytics"
ROOT = Path(__file__).parent

# layer directory -> how its models are materialized, in the order layers are listed
LAYERS = {"staging": "view", "intermediate": "table", "marts": "table"}

_REFERENCE = re.compile(rf"\b{SCHEMA}\s*\.\s*\"?([A-Za-z_][A-Za-z0-9_]*)\"?", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


class ModelGraphError(ValueError):
    """Models reference something no model or runner creates, share a name, or form a cycle."""


@dataclass(frozen=True)
class Model:
    """One SQL model: the relation ``analytics.<name>`` built from ``sql`` as a view or table."""

    name: str
    layer: str
    path: Path
    sql: str
    depends_on: frozenset[str]

    @property
    def materialization(self) -> str:
        """``"view"`` or ``"table"``, from the model's layer."""
        return LAYERS[self.layer]

    def create_statement(self) -> str:
        """The DDL that (re)creates the model's relation."""
        kind = self.materialization
        return f"create or replace {kind} {SCHEMA}.{self.name} as\n{self.sql.rstrip().rstrip(';')}"


def references(sql: str) -> set[str]:
    """The ``analytics.<name>`` names a piece of SQL mentions outside comments (lower-cased)."""
    code = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", sql))
    return {name.lower() for name in _REFERENCE.findall(code)}


def list_model_files(root: Path = ROOT) -> list[Path]:
    """Every model file under the layer directories of ``root``."""
    return [path for layer in LAYERS for path in (root / layer).glob("*.sql")]


def load_models(paths: list[Path]) -> list[Model]:
    """Read model files into :class:`Model` objects; raises on two models with one name."""
    models: dict[str, Model] = {}
    for path in paths:
        name = path.stem.lower()
        if name in models:
            raise ModelGraphError(f"two models named {name}: {models[name].path} and {path}")
        sql = path.read_text(encoding="utf-8")
        models[name] = Model(name, path.parent.name, path, sql, frozenset(references(sql) - {name}))
    return list(models.values())


def build_order(models: list[Model], provided: set[str] = frozenset()) -> list[Model]:
    """Models sorted so each comes after every model it reads; ties broken by layer, then name.

    ``provided`` names relations and macros created before the models (policy tables, source views,
    macros). Raises :class:`ModelGraphError` on an unknown reference or a cycle.
    """
    by_name = {m.name: m for m in models}
    for model in models:
        unknown = sorted(model.depends_on - by_name.keys() - set(provided))
        if unknown:
            raise ModelGraphError(
                f"{model.path.name} reads {', '.join(f'{SCHEMA}.{u}' for u in unknown)}, which no model creates"
            )

    sorter = graphlib.TopologicalSorter({m.name: m.depends_on & by_name.keys() for m in models})
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        raise ModelGraphError(f"models form a cycle: {' -> '.join(err.args[1])}") from None

    layer_rank = {layer: i for i, layer in enumerate(LAYERS)}
    ordered: list[Model] = []
    while sorter.is_active():
        ready = sorted((by_name[n] for n in sorter.get_ready()), key=lambda m: (layer_rank[m.layer], m.name))
        ordered.extend(ready)
        sorter.done(*(m.name for m in ready))
    return ordered
