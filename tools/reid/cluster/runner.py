"""`ClusterSession` and `ClusterRunner`: the engine's `Runner` over a Dask cluster."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from distributed import Client, Future, KilledWorker, as_completed

from tools.reid.cluster import staging, version
from tools.reid.cluster.connection import connect, no_workers
from tools.reid.errors import ClusterUnavailable, EngineError
from tools.reid.fetch.download import file_sha256
from tools.reid.fetch.policy import is_url
from tools.reid.settings import ReIDSettings

T = TypeVar("T")

RETRIES = 2
"""Reruns of a segment whose call raised (a worker that dies is handled by Dask itself: its
segments are rescheduled on the others). Segments are pure, so a rerun gives the same answer."""

RESTAGINGS = 2
"""Times a task's footage is scattered again after the cluster lost every copy of it. Despite
``broadcast=True``, Dask's active memory manager soon drops the copies no queued segment needs
(dask/dask#11148), and scattered data, unlike a computed result, cannot be rebuilt: when the
worker with the last copy dies, the scheduler forgets the footage and cancels every segment
that needs it ("already forgotten"). Scattering it again lets those segments run elsewhere."""


class ClusterSession:
    """One request's use of the cluster: connects (and checks the workers) on entry, deletes
    the footage staged on the workers on exit.

    Raises:
        ClusterUnavailable: on entry, when the cluster cannot be used (see `connect`).
    """

    def __init__(self, settings: ReIDSettings) -> None:
        if settings.cluster is None:
            raise ValueError("ClusterSession needs settings.cluster")
        self.settings = settings
        self.address = settings.cluster
        self._runners: list[ClusterRunner] = []
        self._client: Client | None = None

    def __enter__(self) -> ClusterSession:
        self._client = connect(self.address, self.settings.cluster_timeout_s)
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for runner in self._runners:
            runner.release()

    def runner(self, source: str, media: Path) -> ClusterRunner:
        """A runner for the footage the client got from ``source`` (URL or path) at ``media``."""
        if self._client is None:
            raise RuntimeError("use the session in a with block")
        url = None
        if is_url(source):
            s = self.settings
            url = staging.MediaURL(
                source, file_sha256(media), s.max_media_bytes, s.fetch_timeout_s, s.allow_private_urls
            )
        task = staging.StagedTask(uuid.uuid4().hex, media, url, version.project_version())
        runner = ClusterRunner(self._client, self.address, task)
        self._runners.append(runner)
        return runner


class ClusterRunner:
    """Maps a function over the workers, each call on the worker's copy of the footage."""

    kind: Literal["local", "cluster"] = "cluster"

    def __init__(self, client: Client, address: str, task: staging.StagedTask) -> None:
        self.client = client
        self.address: str | None = address
        self.task = task
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))
        self._data: Future | None = None
        self._workers: set[str] = set()

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        todo = dict(enumerate(args))
        lost: CancelledError | None = None
        for attempt in range(1 + RESTAGINGS):
            data = self._footage()
            futures = {
                i: self.client.submit(
                    staging.run_staged,
                    self.task,
                    data,
                    fn,
                    arg,
                    key=f"reid-segment-{self.task.key}-{attempt}-{i}",
                    retries=RETRIES,
                )
                for i, arg in todo.items()
            }
            index = {future.key: i for i, future in futures.items()}
            try:
                for future in as_completed(futures.values(), loop=self.client.loop):
                    worker, result = future.result()
                    self._workers.add(worker)
                    del todo[index[future.key]]
                    yield index[future.key], result
                return
            except CancelledError as exc:
                if self.client.status != "running":
                    raise ClusterUnavailable(
                        f"Lost the Dask scheduler at {self.address} during the analysis. Check that it is "
                        "running; the request can then be sent again."
                    ) from exc
                # Still connected: the scheduler forgot the footage with the last worker holding it.
                lost = exc
                self._forget_footage()
            except KilledWorker as exc:
                raise EngineError(
                    "Dask workers kept dying on one segment of this video; check their memory and logs, "
                    "then send the request again."
                ) from exc
            finally:
                if self.client.status == "running":
                    self.client.cancel(list(futures.values()))
        raise ClusterUnavailable(
            f"The Dask workers at {self.address} that held this video's footage kept leaving the cluster "
            f"({1 + RESTAGINGS} times). Check the workers' logs and memory; the request can then be sent again."
        ) from lost

    def _footage(self) -> Future | None:
        """The scattered bytes of a local file (scattered now if not yet or lost); None for a URL."""
        if self.task.url is None and self._data is None:
            # Through the scheduler to every worker's memory, again only if lost; see the README's limits.
            data = self.task.client_path.read_bytes()
            try:
                self._data = self.client.scatter(data, broadcast=True, hash=False)
            except TimeoutError as exc:  # every worker left, and none joined within the client's timeout
                scheduler = self.client.scheduler  # None only before the client connects
                raise no_workers(str(scheduler.address if scheduler is not None else self.address)) from exc
        return self._data

    def _forget_footage(self) -> None:
        """Drop our reference to the scattered bytes, so that Dask deletes them (or a lost copy's key)."""
        if self._data is not None:
            self._data.release()
            self._data = None

    def workers_used(self) -> int:
        return max(1, len(self._workers))

    def release(self) -> None:
        """Forget the scattered bytes and delete every worker's copy of the footage."""
        self._forget_footage()
        if self.client.status == "running":
            self.client.run(staging.release, self.task.key, on_error="ignore")
