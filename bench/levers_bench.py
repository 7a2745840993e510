"""The engine's speed levers, A/B side by side in one process, with the answers beside the times.

Run on demand (`python -m bench.levers_bench [--repeats 3] [--levers ...]`); never part of
`make test`. Each lever is a pair (or more) of variants of the engine's constants; every clip
is analysed by every variant in turn, ``--repeats`` times interleaved, in this process with one
worker (so CPU seconds are the engine's own work, comparable however loaded the machine is).
Printed per clip and variant: median CPU and wall seconds and their ratio to the lever's first
variant, frames decoded, faces detected and described, and the answer: seconds found per
person asked for, so that recall and the no-stranger rule can be compared beside the times.

Clips (real footage in ../shared only): the street crowd looped to 42 s (1080p) and re-encoded
at 360p, asked for the walker (a crop of his first frame, on screen the whole loop) and for two
strangers (Obama, Biden); the corridor phone video asked for its four walkers and Musah, who
is not in it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import cv2

from bench.engine_bench import CORRIDOR, STREET, answer, corridor_persons, downscaled, looped, street_persons
from tools.reid import engine
from tools.reid.engine import decode, detect, frames
from tools.reid.engine.embed import SFaceDescriptor
from tools.reid.schemas import AnalysisOptions, ReIDResult

T = TypeVar("T")


@dataclass(frozen=True)
class Variant:
    name: str
    settings: dict[tuple[object, str], object]
    """(module or class, attribute) -> value, set while the variant runs."""
    opencv_threads: int = 1
    """OpenCV's threads while the variant runs (the engine's models set 1)."""


@contextmanager
def applied(variant: Variant) -> Iterator[None]:
    saved = {key: getattr(*key) for key in variant.settings}
    for (owner, attribute), value in variant.settings.items():
        setattr(owner, attribute, value)
    cv2.setNumThreads(variant.opencv_threads)
    try:
        yield
    finally:
        for (owner, attribute), value in saved.items():
            setattr(owner, attribute, value)
        cv2.setNumThreads(1)


def _every(seconds: float) -> Variant:
    scale = replace(SFaceDescriptor.scale, embed_interval_s=seconds)
    return Variant(f"followed face described every {seconds:.0f} s", {(SFaceDescriptor, "scale"): scale})


LEVERS: dict[str, list[Variant]] = {
    "sampled frames": [
        Variant("grid points get their own frame", {(decode, "NEAR_GRID_FRAMES"): decode.NEAR_GRID_FRAMES}),
        Variant("every non-reference frame skipped", {(decode, "NEAR_GRID_FRAMES"): 0.0}),
    ],
    "region detection": [
        Variant("whole frame every sample", {(detect, "FULL_PASS_INTERVAL_S"): 0.0}),
        Variant("whole pass every 1 s, regions between", {(detect, "FULL_PASS_INTERVAL_S"): 1.0}),
        Variant("whole pass every 2 s, regions between", {(detect, "FULL_PASS_INTERVAL_S"): 2.0}),
    ],
    "yunet input": [
        Variant("32 px face at 16 px", {(detect, "YUNET_SMALLEST_FACE_PX"): 16.0}),
        Variant("32 px face at 13 px", {(detect, "YUNET_SMALLEST_FACE_PX"): 13.0}),
        Variant("32 px face at 20 px", {(detect, "YUNET_SMALLEST_FACE_PX"): 20.0}),
    ],
    "description interval": [_every(2.0), _every(3.0), _every(4.0)],
    "poor faces described again": [
        Variant("followed poor faces described every 2 s", {(frames, "REDESCRIBE_POOR_FACES"): True}),
        Variant("followed poor faces not described again", {(frames, "REDESCRIBE_POOR_FACES"): False}),
    ],
    "opencv threads": [
        Variant("OpenCV on 1 thread", {}),
        Variant("OpenCV on 2 threads", {}, opencv_threads=2),
    ],
}


@dataclass
class Clip:
    path: Path
    persons: dict[str, list[Path]]


def cpu_s() -> float:
    """CPU seconds of this process, every thread (FFmpeg's decoding threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def clips(folder: Path) -> dict[str, Clip]:
    street = looped(STREET, folder / "street-loop.mp4", 42.0)
    street_360p = downscaled(street, folder / "street-loop-360p.mp4", 360)
    asked = street_persons(folder)
    return {
        "street 1080p": Clip(street, asked),
        "street 360p": Clip(street_360p, asked),
        "corridor 720p": Clip(CORRIDOR / "corridor-phone.mp4", corridor_persons()),
    }


@dataclass
class Run:
    cpu_s: float
    wall_s: float
    stages: dict[str, float]
    """CPU seconds of the calling thread in YuNet and in SFace (OpenCV runs them on it)."""
    result: ReIDResult


class StageClock:
    """Adds up the calling thread's CPU time inside YuNet and SFace calls: a loaded machine
    spreads whole-process figures more than these."""

    def __init__(self) -> None:
        self.seconds = {"yunet": 0.0, "sface": 0.0}

    @contextmanager
    def installed(self) -> Iterator[None]:
        yunet, sface = detect.yunet_faces, SFaceDescriptor.describe
        detect.yunet_faces = self._timed("yunet", yunet)
        SFaceDescriptor.describe = self._timed("sface", sface)  # type: ignore[method-assign]
        try:
            yield
        finally:
            detect.yunet_faces, SFaceDescriptor.describe = yunet, sface  # type: ignore[method-assign]

    def _timed(self, stage: str, call: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: object) -> T:
            started = time.thread_time()
            try:
                return call(*args)
            finally:
                self.seconds[stage] += time.thread_time() - started

        return timed


def measured(clip: Clip) -> Run:
    clock = StageClock()
    started_cpu, started = cpu_s(), time.perf_counter()
    with clock.installed():
        result = engine.analyze(clip.path, clip.persons, workers=1)
    return Run(cpu_s() - started_cpu, time.perf_counter() - started, clock.seconds, result)


def compare(name: str, variants: list[Variant], clip_name: str, clip: Clip, repeats: int) -> None:
    runs: dict[str, list[Run]] = {v.name: [] for v in variants}
    for _ in range(repeats):
        for variant in variants:
            with applied(variant):
                runs[variant.name].append(measured(clip))
    base = statistics.median(r.cpu_s for r in runs[variants[0].name])
    print(f"{name} on {clip_name} (duration {runs[variants[0].name][0].result.media.duration_s:.1f} s)")
    for variant in variants:
        done = runs[variant.name]
        cpu, wall = statistics.median(r.cpu_s for r in done), statistics.median(r.wall_s for r in done)
        yunet, sface = (statistics.median(r.stages[stage] for r in done) for stage in ("yunet", "sface"))
        stats = done[0].result.stats
        answers = {answer(r.result, AnalysisOptions().sample_fps) for r in done}
        print(
            f"  {variant.name:40} cpu {cpu:6.2f} s ({cpu / base:4.2f}x; YuNet {yunet:5.2f} s, SFace {sface:5.2f} s)  "
            f"wall {wall:6.2f} s  "
            f"decoded {stats.frames_decoded:5}  detected {stats.faces_detected:4}  "
            f"described {stats.faces_described:4}  "
            f"found: {' | '.join(sorted(answers))}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--clips", nargs="+", default=["street 1080p", "street 360p", "corridor 720p"])
    args = parser.parse_args()
    if not STREET.is_file():
        raise SystemExit(f"real footage absent: {STREET}; this bench measures real clips only")
    with tempfile.TemporaryDirectory(prefix="reid-levers-") as scratch:
        available = clips(Path(scratch))
        for name in args.levers:
            for clip_name in args.clips:
                compare(name, LEVERS[name], clip_name, available[clip_name], args.repeats)


if __name__ == "__main__":
    main()
