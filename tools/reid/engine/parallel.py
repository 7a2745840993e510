"""Spreading a video over every core: the sampling grid cut into segments, one per task of
a process pool. Segments are deterministic (see `frames`), so the result is the same with
one process or many; only the wall time changes.
"""

from __future__ import annotations

import atexit
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from threading import Lock

from tools.reid.engine.detect import DetectorName
from tools.reid.engine.frames import SegmentResult, analyse_segment
from tools.reid.progress import ProgressFn

SEGMENT_SAMPLES = 40
"""Grid points per task: ~20 s of footage at 2 fps; small enough for steady progress."""

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


def analyse_video(
    path: Path,
    grid: int,
    sample_fps: float,
    detector: DetectorName,
    min_face_px: float,
    embed_every: int,
    workers: int,
    progress: ProgressFn,
) -> list[SegmentResult]:
    """Segment results in time order; the last segment runs to the end of the stream."""
    bounds = [(first, min(first + SEGMENT_SAMPLES, grid)) for first in range(0, grid, SEGMENT_SAMPLES)]
    bounds[-1] = (bounds[-1][0], None)  # type: ignore[assignment]
    args = [(path, sample_fps, first, stop, detector, min_face_px, embed_every) for first, stop in bounds]
    if workers <= 1 or len(bounds) == 1:
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
