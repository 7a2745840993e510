"""Whether the service's Dask cluster can take work. Tasks wait for it in the store, queued,
while it cannot; the health endpoint says why."""

from __future__ import annotations

import logging
import threading
from typing import Any

from tools.reid.errors import ClusterUnavailable
from tools.reid.settings import ReIDSettings

log = logging.getLogger(__name__)

RETRY_S = 5.0
"""How often a waiting worker thread tries the cluster again."""


class ClusterGate:
    """Checks the cluster named by ``settings.cluster`` (reachable, workers, versions)."""

    def __init__(self, settings: ReIDSettings) -> None:
        if settings.cluster is None:
            raise ValueError("ClusterGate needs settings.cluster")
        self.address = settings.cluster
        self.timeout_s = settings.cluster_timeout_s
        self._problem: str | None = None
        self._lock = threading.Lock()

    def usable(self) -> bool:
        """Try the cluster now; a new problem is logged once, not on every retry."""
        from tools.reid.cluster import connect  # the [cluster] extra, needed only with a cluster

        try:
            connect(self.address, self.timeout_s)
        except ClusterUnavailable as exc:
            self._remember(str(exc))
            return False
        self._remember(None)
        return True

    def wait(self, stop: threading.Event) -> bool:
        """Block until the cluster is usable (True) or the service stops (False)."""
        while not stop.is_set():
            if self.usable():
                return True
            stop.wait(RETRY_S)
        return False

    def health(self) -> dict[str, Any]:
        """The cluster's part of ``/healthz``; checks it afresh (blocking: call off the event loop)."""
        from tools.reid.cluster import health

        report = health(self.address, self.timeout_s)
        self._remember(report.get("problem"))
        return report

    def close(self) -> None:
        """Drop this process's connection to the scheduler (the service is stopping)."""
        from tools.reid.cluster import disconnect

        disconnect(self.address)

    def _remember(self, problem: str | None) -> None:
        with self._lock:
            changed, self._problem = problem != self._problem, problem
        if changed and problem is not None:
            log.warning("the Dask cluster cannot be used; tasks stay queued until it can: %s", problem)
        elif changed:
            log.info("the Dask cluster at %s is usable", self.address)
