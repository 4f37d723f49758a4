"""The pipeline's local state and schemas as a run found them, put back when the run is refused before it loads.

dlt writes `state.json` as soon as a pipeline is opened on another destination than the one it keeps (a refused
`run --destination postgres` without credentials made the next run warn "the destination ... in state differs"),
and again when the next run opens it on the first one. A run that stops before it extracts, or in its extract (dlt
commits nothing of a failed extract), has nothing to keep: its files go back byte for byte. Once a package was
extracted it carries the run's state, and dlt's packages decide (the safety copy aborts them when a load fails:
safety_copy.py; a package a killed run left is loaded by the next).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.job.pipeline import PIPELINE_NAME


class StoredState:
    """`StoredState(directory)` reads the files, `put_back()` writes them as they were (and removes new ones)."""

    def __init__(self, directory: Path) -> None:
        self.folder = directory / ".dlt" / PIPELINE_NAME
        self._files = {path: path.read_bytes() for path in self._paths()}

    def _paths(self) -> list[Path]:
        schemas = self.folder / "schemas"
        found = [self.folder / "state.json"] + (sorted(schemas.iterdir()) if schemas.is_dir() else [])
        return [path for path in found if path.is_file()]

    def put_back(self) -> None:
        """The state and schema files as the run found them."""
        for path in self._paths():
            if path not in self._files:
                path.unlink()
        for path, content in self._files.items():
            if not path.exists() or path.read_bytes() != content:
                temporary = path.with_name(f".{path.name}.restore")
                temporary.write_bytes(content)
                os.replace(temporary, path)
