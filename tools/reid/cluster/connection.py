"""One Dask client per scheduler address in this process, and the checks that make a cluster
usable: reachable, at least one worker, every worker on our version."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from distributed import Client

from tools.reid.cluster import version
from tools.reid.errors import ClusterUnavailable

_clients: dict[str, Client] = {}
_lock = threading.Lock()


def connect(address: str, timeout_s: float) -> Client:
    """A connected client of the scheduler at ``address`` whose workers all run our version.

    Raises:
        ClusterUnavailable: the scheduler is unreachable, has no worker within ``timeout_s``,
            or a worker runs another version of the project.
    """
    client = _client(address, timeout_s)
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError as exc:
        raise no_workers(address) from exc
    except OSError as exc:
        raise _unreachable(address, exc) from exc
    refuse_other_versions(client, address)
    return client


def refuse_other_versions(client: Client, address: str) -> None:
    """Raises `ClusterUnavailable` naming every worker whose project version is not ours.

    A worker that does not answer is leaving the cluster; the guard in `staging` covers it
    should it come back."""
    ours = version.project_version()
    theirs = client.run(version.project_version, on_error="return")
    others = {worker: v for worker, v in theirs.items() if isinstance(v, str) and v != ours}
    if others:
        listing = ", ".join(f"{worker} runs {v}" for worker, v in sorted(others.items()))
        raise ClusterUnavailable(
            f"Refusing the Dask cluster at {address}: {listing}, but this process runs {ours}. "
            "Install the same version of reid-footage on every worker and restart them, or stop those workers."
        )


def health(address: str, timeout_s: float) -> dict[str, Any]:
    """What the service's health endpoint says about its cluster."""
    try:
        client = connect(address, timeout_s)
    except ClusterUnavailable as exc:
        return {"address": address, "usable": False, "problem": str(exc)}
    return {"address": address, "usable": True, "workers": len(client.scheduler_info()["workers"])}


def disconnect(address: str) -> None:
    """Close this process's client of ``address`` (it reconnects on the next `connect`)."""
    with _lock:
        client = _clients.pop(address, None)
    if client is not None:
        client.close(timeout=2)


def _client(address: str, timeout_s: float) -> Client:
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        if client is not None:
            client.close()
        try:
            client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, ValueError) as exc:
            raise _unreachable(address, exc) from exc
        _clients[address] = client
        return client


def no_workers(address: str) -> ClusterUnavailable:
    return ClusterUnavailable(
        f"The Dask scheduler at {address} has no workers. Start one on each machine with "
        f"`dask worker {address}` from the same environment as this one."
    )


def _unreachable(address: str, exc: Exception) -> ClusterUnavailable:
    return ClusterUnavailable(
        f"Cannot reach the Dask scheduler at {address} ({exc}). Start it with `dask scheduler` on that "
        "machine, or correct REID_CLUSTER / --cluster (e.g. tcp://10.0.0.5:8786)."
    )


@atexit.register
def _close_all() -> None:
    for address in list(_clients):
        disconnect(address)
