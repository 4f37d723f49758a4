"""The marts step of a night: build and test the SLA marts on the destination, then put them in front of readers.

One call, so that how a build is published (the Parquet marts and the BI snapshot of a local run, a swapped
schema on a warehouse) can change without the job changing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipelines.job.pipeline import DUCKDB_FILE, LOCAL_DESTINATIONS, make_pipeline
from pipelines.job.summary import PublishedMarts

ENGINES = ("destination", "spark")  # where the marts are built: on the destination itself, or on local Spark


def build_and_publish(directory: Path, destination: str, as_of: datetime | None = None,
                      policy: Path | None = None, engine: str = "destination") -> PublishedMarts:
    """Builds the marts on the tickets of `directory`'s pipeline and publishes them once every data test passed;
    on a failure readers keep the last good build (transforms/build.py; the Parquet marts and the BI snapshot switch to
    it together, pipelines/marts_publish.py). `engine` "spark" builds them on a local Spark session from the raw
    Parquet tables of a `--destination parquet` run instead (transforms/spark_build.py), published the same way."""
    if engine == "spark":
        return _build_on_spark_and_publish(directory, as_of, policy)
    from transforms.build import build_marts

    build = build_marts(make_pipeline(directory, destination), as_of=as_of, policy_path=policy)
    if destination not in LOCAL_DESTINATIONS:
        return PublishedMarts(build, destination)
    from pipelines.marts_publish import publish_build

    published = publish_build(directory, directory / DUCKDB_FILE)  # raises PublishError: readers keep the last build
    return PublishedMarts(build, destination, marts_dir=published.marts_dir, snapshot=published.snapshot,
                          build_id=published.build_id)


def _build_on_spark_and_publish(directory: Path, as_of: datetime | None, policy: Path | None) -> PublishedMarts:
    from pipelines.marts_publish import publish_build
    from transforms.spark_build import build_marts_on_spark

    build, marts = build_marts_on_spark(make_pipeline(directory, "parquet"), directory, as_of=as_of, policy_path=policy)
    published = publish_build(directory, marts)  # raises PublishError: readers keep the last build
    return PublishedMarts(build, "spark", marts_dir=published.marts_dir, snapshot=published.snapshot,
                          build_id=published.build_id)
