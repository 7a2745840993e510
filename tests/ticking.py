"""Proof that a coroutine leaves the event loop free: a ticker keeps running beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def run_while_ticking(work: Awaitable[T], interval_s: float = 0.01) -> tuple[T, int]:
    """Runs ``work`` on a new loop; returns its result and how often a 10 ms ticker ran meanwhile."""

    async def scenario() -> tuple[T, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(interval_s)
                ticks += 1

        beating = asyncio.create_task(ticker())
        try:
            return await work, ticks
        finally:
            beating.cancel()

    return asyncio.run(scenario())
