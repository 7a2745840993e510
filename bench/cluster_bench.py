"""Cluster benchmark: one long video on the embedded default and on a loopback Dask cluster
with 1 and 2 workers, the per-segment cost, the per-segment overhead Dask adds, and the
speed-up those two predict for more machines.

Run on demand: ``python -m bench.cluster_bench [--seconds 120] [--size 640x360]``; never part
of ``make test``. The loopback cluster is ``distributed.LocalCluster`` (worker processes with
one thread each). On a machine with fewer cores than workers it measures correctness and
overhead, not speed-up; the model at the end turns the measurements into a prediction.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from distributed import LocalCluster, get_task_stream

from bench.engine_bench import bench_clip
from tools.reid import synth
from tools.reid.cluster import connect, disconnect
from tools.reid.engine import parallel
from tools.reid.facade import ReIDTool
from tools.reid.schemas import PersonSpec, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings

ROUND_TRIPS = 50


def timed(settings: ReIDSettings, request: ReIDRequest) -> tuple[float, ReIDResult]:
    started = time.perf_counter()
    result = ReIDTool(settings).analyze(request)
    return time.perf_counter() - started, result


@dataclass
class ClusterRun:
    wall: float
    computes: list[float]
    """Compute time of each segment on its worker, as Dask recorded it."""
    busy: float
    """From the first segment's start to the last one's end, on the workers."""
    round_trip: float
    """One no-op task submitted and its result received, one after the other."""
    scatter: float
    """The clip's bytes sent to every worker."""


def on_cluster(workers: int, request: ReIDRequest, expected: ReIDResult) -> ClusterRun:
    """The request on a fresh loopback cluster, after a warm-up run that loads the models on
    every worker, and the costs Dask adds, measured on the same cluster."""
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        settings = ReIDSettings(cluster=cluster.scheduler_address)
        timed(settings, request)
        client = connect(cluster.scheduler_address, 30)
        with get_task_stream(client=client) as stream:
            wall, result = timed(settings, request)
        started = time.perf_counter()
        for n in range(ROUND_TRIPS):
            client.submit(abs, n, pure=False).result()
        round_trip = (time.perf_counter() - started) / ROUND_TRIPS
        started = time.perf_counter()
        scattered = client.scatter(Path(request.media).read_bytes(), broadcast=True, hash=False)
        scatter = time.perf_counter() - started
        scattered.release()
        disconnect(cluster.scheduler_address)
    if result.model_dump(exclude={"stats"}) != expected.model_dump(exclude={"stats"}):
        raise SystemExit("the cluster's answer differs from the embedded one")
    parts = [
        part
        for task in stream.data
        if str(task["key"]).startswith("reid-segment-")
        for part in task["startstops"]
        if part["action"] == "compute"
    ]
    computes = [part["stop"] - part["start"] for part in parts]
    busy = max(part["stop"] for part in parts) - min(part["start"] for part in parts)
    print(f"  loopback cluster, {workers} worker(s): {wall:6.2f} s  ({result.stats.workers} took part)")
    return ClusterRun(wall, computes, busy, round_trip, scatter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="reid-bench-") as scratch:
        folder = Path(scratch)
        synth.astronaut().save(folder / "eileen.png")
        synth.grace_hopper().save(folder / "grace.jpg")
        clip = bench_clip(folder / "clip.mp4", args.seconds, (width, height))
        request = ReIDRequest(
            media=str(clip),
            persons=[
                PersonSpec(name="Eileen", photos=[str(folder / "eileen.png")]),
                PersonSpec(name="Grace", photos=[str(folder / "grace.jpg")]),
            ],
        )
        default = ReIDSettings()
        print(f"{args.seconds:.0f} s clip, {args.size}, {clip.stat().st_size / 2**20:.1f} MiB, {os.cpu_count()} cores")
        print(f"  load average before: {os.getloadavg()[0]:.1f}")
        timed(default, request)  # warm the pool and the models
        wall_default, expected = timed(default, request)
        wall_one, _ = timed(ReIDSettings(workers=1), request)
        print(f"  embedded default ({default.workers} processes): {wall_default:6.2f} s")
        print(f"  embedded, 1 process: {wall_one:6.2f} s")
        one = on_cluster(1, request, expected)
        two = on_cluster(2, request, expected)
        print(f"  scatter of the clip: {one.scatter * 1000:.0f} ms to 1 worker, {two.scatter * 1000:.0f} ms to 2")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
        report(one)


def report(run: ClusterRun) -> None:
    """Per segment: its compute, and what Dask adds: the worker's idle time between segments
    (1 worker, so segments queue) or, if larger, a no-op task's round trip. Predicted wall time
    on N single-core workers: T(N) = serial + ceil(S/N) * (cost + overhead), where serial is
    the client's own work (probe, references, tracking, staging) measured as the 1-worker
    run's wall time outside the workers' busy window."""
    segments = len(run.computes)
    cost = sum(run.computes) / segments
    idle = max(0.0, run.busy - sum(run.computes)) / max(1, segments - 1)
    overhead = max(idle, run.round_trip)
    serial = max(0.0, run.wall - run.busy)
    print(f"  {segments} segments, each {cost:.2f} s of compute on a worker")
    print(
        f"  Dask per segment: {run.round_trip * 1000:.1f} ms no-op round trip, "
        f"{idle * 1000:.1f} ms worker idle between segments"
    )
    print(f"  serial part on the client: {serial:.2f} s")
    hour = math.ceil(3600 * 2 / parallel.SEGMENT_SAMPLES)
    for name, count in (("this clip", segments), ("1 h of footage at 2 fps", hour)):
        alone = serial + count * cost
        predicted = ", ".join(
            f"{n} workers {alone / (serial + math.ceil(count / n) * (cost + overhead)):4.1f}x" for n in (2, 4, 8, 16)
        )
        print(f"  predicted speed-up over 1 worker, {name} ({count} segments): {predicted}")


if __name__ == "__main__":
    main()
