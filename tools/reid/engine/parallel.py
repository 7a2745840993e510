"""Spreading a video over every core: the sampling grid cut into segments, one per task of
a process pool. Segments are deterministic (see `frames`), so the result is the same with
one process or many; only the wall time changes.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from threading import Lock

from tools.reid.engine.frames import SegmentResult, SegmentSpec, analyse_segment
from tools.reid.progress import ProgressFn

SEGMENT_SAMPLES = 40
"""Most grid points per task: ~20 s of footage at 2 fps; small enough for steady progress."""
POOL_MIN_GRID = 30
"""Starting worker processes costs ~1-2 s (imports, models): footage of fewer grid points
(15 s at 2 fps) is analysed sooner in this process alone."""

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = Lock()


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per process, started on first use; models load once per worker."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # spawn, not fork: the callers (uvicorn, Bolt) hold threads and event loops.
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            _pool_size = workers
        return _pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)


def segment_bounds(grid: int, workers: int) -> list[tuple[int, int | None]]:
    """Equal segments of at most ``SEGMENT_SAMPLES`` points, as many as a multiple of
    ``workers`` so that no worker idles at the end; the last runs to the end of the stream."""
    count = math.ceil(grid / SEGMENT_SAMPLES / workers) * workers
    size = math.ceil(grid / count)
    bounds: list[tuple[int, int | None]] = [(first, min(first + size, grid)) for first in range(0, grid, size)]
    bounds[-1] = (bounds[-1][0], None)
    return bounds


def analyse_video(path: Path, grid: int, spec: SegmentSpec, workers: int, progress: ProgressFn) -> list[SegmentResult]:
    """Segment results in time order; the last segment runs to the end of the stream."""
    pooled = workers > 1 and grid >= POOL_MIN_GRID
    bounds = segment_bounds(grid, workers if pooled else 1)
    args = [(path, spec, first, stop) for first, stop in bounds]
    if not pooled:
        results = []
        for i, arg in enumerate(args):
            results.append(analyse_segment(*arg))
            progress((i + 1) / len(args))
        return results
    pool = _shared_pool(workers)
    futures: dict[Future[SegmentResult], int] = {pool.submit(analyse_segment, *arg): i for i, arg in enumerate(args)}
    ordered: list[SegmentResult | None] = [None] * len(args)
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            ordered[futures[future]] = future.result()
            progress(done / len(args))
    finally:
        for future in futures:
            future.cancel()
    return [r for r in ordered if r is not None]
