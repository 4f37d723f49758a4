"""The marts and their documentation, as the dbt project declares them (``models/marts/*.yml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).parent
MARTS_DIR = PROJECT_DIR / "models" / "marts"


@dataclass(frozen=True)
class MartDoc:
    """A mart's grain (its description, the table comment) and its columns' descriptions and types, in order."""

    grain: str
    columns: dict[str, str]
    data_types: dict[str, str]


def load_mart_docs(marts_dir: Path = MARTS_DIR) -> dict[str, MartDoc]:
    """``{mart name: MartDoc}`` for every mart declared in ``marts_dir``, by name."""
    docs = {}
    for path in sorted(marts_dir.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            columns = model["columns"]
            docs[model["name"]] = MartDoc(
                grain=model["description"],
                columns={c["name"]: c["description"] for c in columns},
                data_types={c["name"]: c["data_type"] for c in columns},
            )
    return dict(sorted(docs.items()))


def mart_names() -> list[str]:
    """The marts, by name."""
    return list(load_mart_docs())
