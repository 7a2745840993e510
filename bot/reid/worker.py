"""Our own asyncio worker: listeners only ack, persist and enqueue; the work happens here.

Preferred over Bolt's lazy listeners because the same queue is fed at start-up with the requests
a previous process left unfinished, and because the engine is CPU-bound: a fixed number of
workers bounds how many analyses compete for the cores.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Worker:
    """Runs queued jobs in arrival order on ``concurrency`` asyncio tasks."""

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(), name=f"reid-worker-{n}") for n in range(self._concurrency)]

    def submit(self, job: Job) -> None:
        self._queue.put_nowait(job)

    async def stop(self) -> None:
        """Cancel the jobs in progress; they stay unfinished in the store and resume at the next start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:
                # Jobs report their own failures to the user; this only keeps the worker alive.
                log.exception("a worker job failed")
            finally:
                self._queue.task_done()
