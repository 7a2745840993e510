"""Dask worker preload (``dask worker --preload cluster_other_version``): this worker claims to
run another version of the project, as a worker left on an old install would."""

from tools.reid.cluster import version

version.project_version = lambda: "0.0.1+engine.000000000000"  # type: ignore[assignment]
