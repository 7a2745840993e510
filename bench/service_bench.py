"""Service benchmark: many clients at once against a real service process; nothing may be lost.

Run on demand, never part of `make test`:

    python -m bench.service_bench [--images 100] [--videos 10] [--concurrent-tasks 2]

It starts ``python -m tools.reid.service`` on a fresh database and a loopback file server for
the footage (the same servers the tests use), then sends every image request at once
(multipart uploads answered inline), then every video request at once (by URL, followed on
the task endpoint). It prints, per kind, how many came back right, the throughput and the
p50/p95 latency from sending a request to holding its result.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.loopback import API_KEY, ServiceProcess, StaticFiles, service_settings, settings_env, write_footage
from tools.reid.remote.client import AsyncReIDClient, ClientConfig

PROMPT = "Who is here?"


@dataclass
class Outcome:
    latencies_s: list[float]
    correct: int
    errors: list[str]
    wall_s: float

    def report(self, kind: str, sent: int) -> str:
        p50 = statistics.median(self.latencies_s) if self.latencies_s else float("nan")
        p95 = _percentile(self.latencies_s, 0.95)
        lost = sent - self.correct
        lines = [
            f"{kind}: {sent} sent, {self.correct} correct, {lost} lost or wrong, in {self.wall_s:.1f} s",
            f"  throughput {self.correct / self.wall_s:.2f}/s, latency p50 {p50:.2f} s, p95 {p95:.2f} s",
        ]
        lines += [f"  error: {error}" for error in sorted(set(self.errors))]
        return "\n".join(lines)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _timed(requests: list[Callable[[], Awaitable[bool]]]) -> Outcome:
    """Run every request at once; each returns whether its result was right."""

    async def one(request: Callable[[], Awaitable[bool]]) -> tuple[float, bool, str | None]:
        started = time.monotonic()
        try:
            right = await request()
        except Exception as exc:  # a benchmark reports every failure instead of stopping
            return time.monotonic() - started, False, f"{type(exc).__name__}: {exc}"
        return time.monotonic() - started, right, None

    started = time.monotonic()
    results = await asyncio.gather(*(one(request) for request in requests))
    return Outcome(
        latencies_s=[latency for latency, right, _ in results if right],
        correct=sum(right for _, right, _ in results),
        errors=[error for _, _, error in results if error],
        wall_s=time.monotonic() - started,
    )


def _found(data: dict[str, Any]) -> dict[str, bool]:
    return {person["name"]: person["found"] for person in data["persons"]}


async def _run(base_url: str, files: StaticFiles, images: int, videos: int) -> None:
    folder = files.root
    config = ClientConfig(base_url, API_KEY, timeout_s=600, retries=10, poll_interval_s=0.5)
    async with AsyncReIDClient(config=config) as client:

        async def image() -> bool:
            persons = [("Alice", str(folder / "alice.png"))]
            data = await client.analyze_image(folder / "test_image.png", persons, PROMPT)
            return _found(data) == {"Alice": True}

        async def video() -> bool:
            persons = [("Alice", files.url("alice.jpg")), ("Bob", files.url("bob.jpg"))]
            task_id = await client.submit_video(files.url("alice_then_bob.mp4"), persons, PROMPT)
            status = await client.wait(task_id, timeout_s=1800)
            return status.result is not None and _found(status.result) == {"Alice": True, "Bob": True}

        print((await _timed([image] * images)).report("images", images))
        print((await _timed([video] * videos)).report("videos", videos))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--concurrent-tasks", type=int, default=1, help="REID_MAX_CONCURRENT_TASKS of the service")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reid-bench-") as scratch:
        root = Path(scratch)
        (root / "footage").mkdir()
        write_footage(root / "footage")
        files = StaticFiles(root / "footage")
        settings = service_settings(
            root, max_concurrent_tasks=args.concurrent_tasks, max_queued_tasks=args.images + args.videos
        )
        service = ServiceProcess(settings_env(settings))
        try:
            print(f"service at {service.base_url}, {args.concurrent_tasks} concurrent tasks")
            asyncio.run(_run(service.base_url, files, args.images, args.videos))
        finally:
            service.close()
            files.close()


if __name__ == "__main__":
    main()
