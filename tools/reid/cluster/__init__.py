"""Running the engine's video segments on a Dask cluster (``REID_CLUSTER``, ``--cluster``).

This layer sits between the facade and the engine. It reaches the scheduler, refuses workers
that run another version of the project, gets the footage onto every worker (a URL is fetched
by each worker itself with the SSRF-safe fetcher; a local file is scattered once), and hands
the engine a runner that maps the engine's own segment function over the workers. The engine
knows nothing of Dask or HTTP. Needs the ``[cluster]`` extra (``dask[distributed]``).
"""

from tools.reid.extras import require

require("cluster", "dask", "distributed")

from tools.reid.cluster.connection import connect, disconnect, health  # noqa: E402
from tools.reid.cluster.runner import ClusterRunner, ClusterSession  # noqa: E402

__all__ = ["ClusterRunner", "ClusterSession", "connect", "disconnect", "health"]
