"""What a run refuses before it takes the lock or touches anything stored: a destination the marts cannot be
built on, and an SLA policy that does not read. Neither opens the dlt pipeline, so a refused run leaves its
state (the destination kept there, the schema, the cursors) as it was."""

from __future__ import annotations

from pathlib import Path

from pipelines.job.pipeline import LOCAL_DESTINATIONS


def check_before_loading(destination: str, transform: bool, policy: Path | None) -> None:
    """Raises `MartsUnsupported` or `PolicyError` (naming the setting and the fix) when the marts step would fail."""
    if not transform:
        return
    from transforms import warehouse
    from transforms.policy import load_policy

    warehouse.check_supported(destination_type(destination))
    load_policy(policy)


def destination_type(destination: str) -> str:
    """The type of destination `destination` names (`duckdb` for the local ones), read from dlt's reference
    without configuring it or a pipeline."""
    if destination in LOCAL_DESTINATIONS:
        return "duckdb"
    from dlt.common.destination import Destination

    return Destination.from_reference(destination).destination_type.rsplit(".", 1)[-1]
