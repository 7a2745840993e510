"""Spreading a video over every core: the sampling grid cut into segments, run at once by the
calling thread and ``workers - 1`` helper threads of this process. Segments are deterministic
(see `frames`), so the result is the same with one thread or many; only the wall time changes.

Threads, not processes: decoding, YuNet and SFace run in FFmpeg and OpenCV, which release the
GIL, so two threads analyse a video about as fast as two processes (the same segments of the
1080p street loop on a loaded machine: 15.2 s of CPU against 15.0 s); and a second process
costs its own interpreter, libraries and heap. ``make bench``, 1080p, two workers: a peak of
473-485 MiB resident (461-470 MiB proportional) against 638-685 MiB (517-564 MiB) for the
process and a spawned worker. Each thread loads its own models once (`models.per_thread`), and
the helpers live as long as the process, so their models stay loaded.

Where the segments run is pluggable: a `Runner` maps the (opaque) segment function over the
argument tuples. `PoolRunner`, this process's threads, is the default; ``tools.reid.cluster``
provides one for a Dask cluster without the engine knowing anything of it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from tools.reid.engine.frames import SegmentResult, SegmentSpec, analyse_segment
from tools.reid.progress import ProgressFn

SEGMENT_SAMPLES = 40
"""Most grid points per task: ~20 s of footage at 2 fps; small enough for steady progress."""
POOL_MIN_GRID = 30
"""Footage of fewer grid points (15 s at 2 fps) is analysed in the calling thread alone: a
helper's share costs its seek and, the first time, its models' loading. Measured at 360p
(loaded machine): spread, 8 s took 0.75-1.05 s against 0.91-0.92 s alone, 16 s 1.60-1.90 s
against 1.70-2.07 s, 25 s 1.39-1.87 s against 2.57-3.15 s."""

T = TypeVar("T")

_Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]
HELPER_THREAD_NAME = "reid-segments"
"""What the helper threads are called in the system (``top -H``, ``/proc/<pid>/task/*/comm``)."""
PR_SET_NAME = 15
"""prctl's option that names the calling thread (linux/prctl.h)."""


def _name_os_thread(name: str) -> None:
    """Names the calling thread for the system too, where Linux's prctl exists: Python names
    its threads for itself only, and an operator looking at a busy service sees threads."""
    library = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(library).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError, TypeError):  # no libc found, or not Linux
        pass


class SegmentStopped(Exception):
    """Raised inside a helper thread's segment when the process is told to stop."""


STOP_WAIT_S = 5.0
"""How long stopping waits for the helpers to leave their segments (each is interrupted at its
next Python instruction: at most one decoded frame or one network pass away)."""


class _Helpers:
    """``count`` daemon threads running calls from one queue. A process told to stop (SIGTERM,
    Ctrl+C) interrupts their segments and exits without native code running under it (OpenCV
    aborts the process otherwise); one killed outright leaves nothing behind, having started
    no other process."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._running: dict[int, Future[Any]] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"{HELPER_THREAD_NAME}-{number + 1}", daemon=True)
            for number in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._calls.put((future, fn, args))
        return future

    def retire(self) -> None:
        """The threads end once every call given so far is done."""
        for _ in self._threads:
            self._calls.put(None)

    def stop(self) -> None:
        """Calls not started are cancelled, running ones interrupted (their futures fail with
        `SegmentStopped`), and the threads end."""
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                call[0].cancel()
        self.retire()
        running = list(self._running.values())
        for thread in self._threads:
            if thread.ident is not None and thread.is_alive():
                _interrupt(thread.ident)
        for thread in self._threads:
            thread.join(STOP_WAIT_S)
        for future in running:
            if not future.done():
                future.set_exception(SegmentStopped())

    def _work(self) -> None:
        _name_os_thread(HELPER_THREAD_NAME)
        me = threading.get_ident()
        try:
            while (call := self._calls.get()) is not None:
                future, fn, args = call
                if not future.set_running_or_notify_cancel():
                    continue
                self._running[me] = future
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # the caller sees it, as from a pool
                    future.set_exception(exc)
                finally:
                    self._running.pop(me, None)
        except SegmentStopped:  # it arrived between two calls
            pass


def _interrupt(ident: int) -> None:
    """Raises `SegmentStopped` in the thread ``ident`` at its next Python instruction."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(SegmentStopped))


_pool: _Helpers | None = None
_pool_lock = threading.Lock()


def _shared_pool(count: int) -> _Helpers:
    """One set of helper threads per process, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.count != count:
            if _pool is not None:  # another analysis may still wait for its calls
                _pool.retire()
            _pool = _Helpers(count)
        return _pool


def shutdown_pool() -> None:
    """Stop the helper threads, for SIGTERM and SIGINT: segments not started are cancelled (the
    analysis in flight fails), and the process exits without waiting for a running one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.stop()


class Runner(Protocol):
    """Runs picklable calls somewhere and says where they ran (for `Stats`)."""

    kind: Literal["local", "cluster"]
    address: str | None
    workers: int
    """How many threads or processes can run calls at once: segments come in multiples of it."""

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        """``(i, fn(*args[i]))`` for every i, in the order the calls complete."""
        ...

    def workers_used(self) -> int:
        """How many threads or processes took part in the calls mapped so far."""
        ...


class PoolRunner:
    """This machine's ``workers`` cores: the calling thread and ``workers - 1`` helper threads."""

    kind: Literal["local", "cluster"] = "local"
    address: str | None = None

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._used = 1

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        """Every ``workers``-th call runs in the calling thread, the others in the helpers: calls
        are segments of equal length, so each core gets the same share."""
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

    Footage under ``POOL_MIN_GRID`` points, or a local runner of one worker, runs in the
    calling thread alone."""
    here = isinstance(runner, PoolRunner) and (runner.workers <= 1 or grid < POOL_MIN_GRID)
    bounds = segment_bounds(grid, 1 if here else runner.workers)
    if not here:  # a thread per core: FFmpeg's own threads would only contend
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
