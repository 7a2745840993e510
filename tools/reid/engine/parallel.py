"""Spreading a video over every core: the sampling grid cut into segments, one per task of
a process pool. Segments are deterministic (see `frames`), so the result is the same with
one process or many; only the wall time changes.

The calling thread analyses segments too, beside ``workers - 1`` pool processes: it has the
models loaded already (for the reference photos), and a process fewer is ~250 MiB less
memory (its own interpreter, OpenCV, PyAV and models) for no loss of speed.

Where the segments run is pluggable: a `Runner` maps the (opaque) segment function over the
argument tuples. `PoolRunner`, this process's pool, is the default; ``tools.reid.cluster``
provides one for a Dask cluster without the engine knowing anything of it.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from tools.reid.engine.frames import SegmentResult, SegmentSpec, analyse_segment
from tools.reid.progress import ProgressFn

SEGMENT_SAMPLES = 40
"""Most grid points per task: ~20 s of footage at 2 fps; small enough for steady progress."""
POOL_MIN_GRID = 30
"""Starting worker processes costs ~1-2 s (imports, models): footage of fewer grid points
(15 s at 2 fps) is analysed sooner in this process alone (measured at 360p: with the pool to
start, 8 s took 1.6 s against 1.1 s alone, 16 s 1.6 s against 1.8 s)."""
WARM_POOL_MIN_GRID = 8
"""Once the pool runs (a service, the second video of a session), a segment in it costs only
its seek: even 4 s of 360p footage (9 grid points) took 0.40 s against 0.55 s alone."""

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per process, started on first use; models load once per worker."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # spawn, not fork: the callers (uvicorn, Bolt) hold threads and event loops.
            _pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            _pool_size = workers
        return _pool


PARENT_CHECK_S = 0.5


def _pool_running(workers: int) -> bool:
    with _pool_lock:
        return _pool is not None and _pool_size == workers


def _die_with_parent(parent: int) -> None:
    """In each worker: exit as soon as the process that started it is gone. A parent killed
    outright (SIGKILL, the OOM killer) cannot stop its workers, which would otherwise finish
    their segment, and idle on, orphaned, holding hundreds of MB each. The parent's pid is
    polled from a thread rather than asked of the kernel as a parent-death signal
    (``PR_SET_PDEATHSIG``), which fires when the *thread* that started the worker ends: the
    pool is started from whichever thread first analyses a video, often a short-lived one."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="reid-parent-watch", daemon=True).start()


@atexit.register
def _close_pool() -> None:
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pool() -> None:
    """Stop the worker processes now, for SIGTERM and SIGINT: segments in flight are abandoned
    (the caller sees the pool broken), and no worker outlives this process. Closing the pool
    alone would let busy workers finish their segment, orphaned, after the process exits."""
    global _pool, _pool_size
    with _pool_lock:
        pool, _pool, _pool_size = _pool, None, 0
    if pool is None:
        return
    workers = list((pool._processes or {}).values())  # the executor offers no other handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(timeout=5)


class Runner(Protocol):
    """Runs picklable calls somewhere and says where they ran (for `Stats`)."""

    kind: Literal["local", "cluster"]
    address: str | None
    workers: int
    """How many processes can run calls at once: segments come in multiples of it."""

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        """``(i, fn(*args[i]))`` for every i, in the order the calls complete."""
        ...

    def workers_used(self) -> int:
        """How many processes took part in the calls mapped so far."""
        ...


class PoolRunner:
    """This machine's ``workers`` cores: the calling thread and a pool of ``workers - 1`` processes."""

    kind: Literal["local", "cluster"] = "local"
    address: str | None = None

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._used = 1

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        """Every ``workers``-th call runs in the calling thread, the others in the pool: calls are
        segments of equal length, so each core gets the same share."""
        self._used = max(self._used, min(self.workers, len(args)))
        here = range(0, len(args), self.workers)
        elsewhere = [i for i in range(len(args)) if i % self.workers]
        pool = _shared_pool(self.workers - 1) if elsewhere else None
        futures: dict[Future[T], int] = {pool.submit(fn, *args[i]): i for i in elsewhere} if pool else {}
        try:
            for i in here:
                yield i, fn(*args[i])
                for future in [f for f in futures if f.done()]:
                    yield futures.pop(future), future.result()
            for future in as_completed(list(futures)):
                yield futures.pop(future), future.result()
        finally:
            for future in futures:
                future.cancel()

    def workers_used(self) -> int:
        return self._used


def segment_bounds(grid: int, workers: int) -> list[tuple[int, int | None]]:
    """Equal segments of at most ``SEGMENT_SAMPLES`` points, as many as a multiple of
    ``workers`` so that no worker idles at the end; the last runs to the end of the stream."""
    count = math.ceil(grid / SEGMENT_SAMPLES / workers) * workers
    size = math.ceil(grid / count)
    bounds: list[tuple[int, int | None]] = [(first, min(first + size, grid)) for first in range(0, grid, size)]
    bounds[-1] = (bounds[-1][0], None)
    return bounds


def analyse_video(
    path: Path, grid: int, spec: SegmentSpec, runner: Runner, progress: ProgressFn
) -> list[SegmentResult]:
    """Segment results in time order; the last segment runs to the end of the stream.

    Footage under ``POOL_MIN_GRID`` points (``WARM_POOL_MIN_GRID`` once the pool runs), or a
    local runner of one worker, runs in this process."""
    here = isinstance(runner, PoolRunner) and (
        runner.workers <= 1 or grid < (WARM_POOL_MIN_GRID if _pool_running(runner.workers - 1) else POOL_MIN_GRID)
    )
    bounds = segment_bounds(grid, 1 if here else runner.workers)
    if not here:  # a process (or the calling thread) per core: FFmpeg's own threads would only contend
        spec = replace(spec, decode_threads=1)
    args = [(path, spec, first, stop) for first, stop in bounds]
    if here:
        results = []
        for i, arg in enumerate(args):
            results.append(analyse_segment(*arg))
            progress((i + 1) / len(args))
        return results
    ordered: list[SegmentResult | None] = [None] * len(args)
    for done, (i, result) in enumerate(runner.map(analyse_segment, args), start=1):
        ordered[i] = result
        progress(done / len(args))
    return [r for r in ordered if r is not None]
