"""Engine benchmark: real-time factor, frames analysed per second and peak memory.

Run on demand (`make bench`, or `python -m bench.engine_bench --seconds 60 --sizes 640x360 1280x720`);
never part of `make test`. Clips are generated from package-shipped portraits: two people
entering, crossing and leaving, so every sampled frame has faces to detect and track.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tools.reid import engine, synth
from tools.reid.schemas import AnalysisOptions


def bench_clip(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """People come and go in 20 s cycles so the clip is equally busy however long it is."""
    actors = []
    for start in range(0, int(seconds), 20):
        actors.append(
            synth.Actor(synth.astronaut_portrait(), start + 1, start + 15, synth.glide(0.15, 0.45, 14, height=0.4))
        )
        actors.append(synth.Actor(synth.hopper_portrait(), start + 6, start + 19, synth.still(0.75, height=0.35)))
    return synth.write_clip(path, actors, seconds, size=size)


class PeakMemory:
    """Samples the resident memory of this process and its workers every 50 ms."""

    def __init__(self) -> None:
        self.peak_total = 0
        self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            sizes = []
            for process in [me, *me.children(recursive=True)]:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_single = max(self.peak_single, max(sizes, default=0))


def run(clip: Path, references: dict[str, list[Path]], options: AnalysisOptions, workers: int) -> None:
    engine.analyze(clip, references, options=options, workers=workers)  # warm the pool and models
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = engine.analyze(clip, references, options=options, workers=workers)
        wall = time.perf_counter() - started
    found = ", ".join(f"{p.name} {p.total_s:.0f}s" for p in result.found())
    print(
        f"{clip.stem:>16}  {result.media.duration_s:6.0f} s  {options.detector}  workers={workers}  "
        f"wall {wall:6.2f} s  {result.media.duration_s / wall:5.1f}x real time  "
        f"{result.stats.frames_analysed / wall:5.1f} frames/s analysed  "
        f"peak RSS {memory.peak_total / 2**20:5.0f} MiB (largest process {memory.peak_single / 2**20:4.0f} MiB)  "
        f"found: {found}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0])
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--detector", choices=["blazeface", "hog", "cnn"], default="blazeface")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    options = AnalysisOptions(detector=args.detector)
    with tempfile.TemporaryDirectory(prefix="reid-bench-") as scratch:
        folder = Path(scratch)
        synth.astronaut().save(folder / "eileen.png")
        synth.grace_hopper().save(folder / "grace.jpg")
        references = {"Eileen": [folder / "eileen.png"], "Grace": [folder / "grace.jpg"]}
        for seconds in args.seconds:
            for size in args.sizes:
                width, height = (int(v) for v in size.split("x"))
                clip = bench_clip(folder / f"{size}-{seconds:.0f}s.mp4", seconds, (width, height))
                run(clip, references, options, args.workers)


if __name__ == "__main__":
    main()
