"""What a run refuses before it takes the lock or touches anything stored: a destination dlt does not know or whose
settings are missing, a destination the marts cannot be built on, and an SLA policy that does not read. None opens
the dlt pipeline, so a refused run leaves its state (the destination kept there, the schema, the cursors) as it was."""

from __future__ import annotations

from pathlib import Path

from pipelines.job.pipeline import LOCAL_DESTINATIONS


def check_before_loading(destination: str, transform: bool, policy: Path | None) -> None:
    """Raises `UnknownDestination` or `UsercomConfigError` when the destination cannot be used, `MartsUnsupported` or
    `PolicyError` when the marts step would fail, each naming the setting and the fix."""
    if transform:
        from transforms import warehouse
        from transforms.policy import load_policy

        warehouse.check_supported(destination_type(destination))
        load_policy(policy)
    check_destination(destination)


def check_destination(destination: str) -> None:
    """Raises `UnknownDestination` (listing the ones there are) for a name dlt does not know, and `UsercomConfigError`
    (naming the environment variable and the `.dlt/secrets.toml` key) when its settings are missing: before the
    run log, whose row on that destination would fail the same way."""
    if destination in LOCAL_DESTINATIONS:
        return
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    from pipelines.error_text import missing_settings
    from pipelines.job.pipeline import DATASET_NAME

    reference = _reference(destination)
    initial = reference.spec()
    initial.dataset_name = DATASET_NAME
    try:
        reference.configuration(initial)
    except ConfigFieldMissingException as error:
        ours = missing_settings(error)
        if ours is not None:
            raise ours from None


def destination_type(destination: str) -> str:
    """The type of destination `destination` names (`duckdb` for the local ones), read from dlt's reference
    without configuring it or a pipeline."""
    if destination in LOCAL_DESTINATIONS:
        return "duckdb"
    return _reference(destination).destination_type.rsplit(".", 1)[-1]


def _reference(destination: str):
    """dlt's destination of that name (or a named one of that type); `UnknownDestination` for a name it does not know."""
    from dlt.common.destination import Destination
    from dlt.common.destination.exceptions import UnknownDestinationModule

    from pipelines.error_text import unknown_destination

    try:
        return Destination.from_reference(destination)
    except UnknownDestinationModule:
        raise unknown_destination(destination) from None
