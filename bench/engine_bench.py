"""Engine benchmark on real and synthetic footage: speed against a plain decode, and memory.

Run on demand (`make bench`, or `python -m bench.engine_bench --descriptors sface dlib`);
never part of `make test`. For each descriptor it reports, side by side:

- the real street clip of ../shared/fixtures/footage (1080p, a crowd) looped to ~40 s by
  copying packets (no re-encode), with the time of a plain decode of every frame of it, and
  the same loop re-encoded at 360p (real footage at a small size), both asked for the walker
  (a crop of his face in the first frame; he is on screen the whole loop) and two strangers;
- the real corridor phone video (720x1280, four named walkers and a fifth person who is not
  in it, each with a photo taken elsewhere);
- synthetic clips of two package-shipped portraits coming and going (flattering: two faces).

Figures: real-time factor (footage seconds per wall second), analysis time over plain decode
time of the same file (the mean of one just before and one just after it, each in a process of
its own), faces described, peak memory of this process
and its workers (the sum of their resident sizes, and of their proportional sizes, which count
a page shared by several processes once), and beside them the answer scored against the clips'
truth (``bench.footage_truth``): recall of the time each face is visible, and seconds claimed
where the person is not on screen.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import av
import psutil

from bench.footage_truth import CORRIDOR as CORRIDOR_TRUTH
from bench.footage_truth import Truth, score
from tools.reid import engine, synth
from tools.reid.schemas import AnalysisOptions, ReIDResult

T = TypeVar("T")
STREET = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "footage" / "street-1080p.mp4"
FACES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "faces"
CORRIDOR = STREET.parent / "corridor"
WALKER_BOX = (916, 635, 979, 721)
"""The man in view the whole street clip, an 86 px face in its first frame."""
ON_SCREEN = {"Walker"}
"""Who of the street clip's persons asked for is on screen: the rest are strangers to it."""
WALKER_ALL_ALONG = Truth(visible=((0.0, math.inf),), present=((0.0, math.inf),))
NOBODY = Truth(visible=(), present=())


def walker_photo(folder: Path) -> Path:
    """His face from the street clip's first frame, with as much margin again on every side."""
    with av.open(str(STREET)) as container:
        first = next(container.decode(video=0)).to_image()
    left, top, right, bottom = WALKER_BOX
    width, height = right - left, bottom - top
    path = folder / "walker.png"
    first.crop((left - width, top - height, right + width, bottom + height)).save(path)
    return path


def street_persons(folder: Path) -> dict[str, list[Path]]:
    return {"Walker": [walker_photo(folder)], "Obama": [FACES / "obama.jpg"], "Biden": [FACES / "biden.jpg"]}


def corridor_persons() -> dict[str, list[Path]]:
    """The corridor's five photos; Musah is not in the video."""
    return {p.stem.capitalize(): [p] for p in sorted((CORRIDOR / "people").glob("*.jpg"))}


def answer(result: ReIDResult, sample_fps: float) -> str:
    """Recall of the time each person's face is visible and seconds claimed where they are not
    on screen (``bench.footage_truth``), for the real clips; seconds found for the others."""
    duration, period = result.media.duration_s, 1 / sample_fps
    names = {p.name for p in result.persons}
    if "Walker" in names:  # the street loop: he is visible all along, nobody else is known
        truths = {name: WALKER_ALL_ALONG if name in ON_SCREEN else NOBODY for name in names}
    elif names == set(CORRIDOR_TRUTH):
        truths = CORRIDOR_TRUTH
    else:
        return " ".join(f"{p.name} {p.total_s:.1f}s" for p in result.persons)
    scores = {p.name: score(p, truths[p.name], duration, period) for p in result.persons}
    recall = " ".join(f"{name} {s.recall:.0%}" for name, s in scores.items() if truths[name].visible)
    return f"recall {recall}; false claims {sum(s.false_s for s in scores.values()):.1f} s"


def bench_clip(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """People come and go in 20 s cycles so the clip is equally busy however long it is."""
    actors = []
    for start in range(0, int(seconds), 20):
        actors.append(
            synth.Actor(synth.astronaut_portrait(), start + 1, start + 15, synth.glide(0.15, 0.45, 14, height=0.4))
        )
        actors.append(synth.Actor(synth.hopper_portrait(), start + 6, start + 19, synth.still(0.75, height=0.35)))
    return synth.write_clip(path, actors, seconds, size=size)


def looped(source: Path, target: Path, seconds: float) -> Path:
    """``source`` repeated until ``seconds``, packets copied with shifted timestamps."""
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream_in = reader.streams.video[0]
        stream_out = writer.add_stream_from_template(stream_in)
        # (pts, dts, packet) of every packet with timestamps; the demuxer's flush packet has none.
        timed = [(p.pts, p.dts, p) for p in reader.demux(stream_in) if p.pts is not None and p.dts is not None]
        span = max(pts + (packet.duration or 0) for pts, _, packet in timed) - min(pts for pts, _, _ in timed)
        time_base = stream_in.time_base
        assert time_base is not None, "a demuxed stream has a time base"
        loop = 0
        while loop * span * time_base < seconds:
            for pts, dts, packet in timed:
                copy = av.Packet(bytes(packet))
                copy.pts, copy.dts = pts + loop * span, dts + loop * span
                copy.duration, copy.is_keyframe = packet.duration, packet.is_keyframe
                copy.time_base, copy.stream = packet.time_base, stream_out
                writer.mux(copy)
            loop += 1
    return target


def downscaled(source: Path, target: Path, height: int) -> Path:
    """``source`` re-encoded at ``height`` lines: real footage at a smaller resolution."""
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream_in = reader.streams.video[0]
        stream = writer.add_stream("libx264", rate=stream_in.average_rate, options={"preset": "veryfast", "crf": "21"})
        stream.width = round(stream_in.codec_context.width * height / stream_in.codec_context.height / 2) * 2
        stream.height, stream.pix_fmt = height, "yuv420p"
        for frame in reader.decode(stream_in):
            small = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            small.pts, small.time_base = frame.pts, frame.time_base
            writer.mux(stream.encode(small))
        writer.mux(stream.encode())
    return target


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a process of its own: making clips and decoding them leave freed buffers
    behind in a process, which would count in the memory of the tree the bench measures."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def plain_decode_s(path: Path) -> float:
    """Wall time of decoding every frame, as fast as PyAV goes (the floor of any analysis)."""
    started = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - started


class PeakMemory:
    """Samples the memory of this process and its workers every 50 ms: the sum of their
    resident sizes (a shared library's pages counted in every process) and of their
    proportional sizes (each shared page divided among the processes that map it)."""

    def __init__(self) -> None:
        self.peak_total = 0
        self.peak_proportional = 0
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
            resident, proportional = 0, 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    info = process.memory_full_info()
                except psutil.NoSuchProcess:
                    continue
                resident, proportional = resident + info.rss, proportional + info.pss
            self.peak_total = max(self.peak_total, resident)
            self.peak_proportional = max(self.peak_proportional, proportional)


def run(clip: Path, references: dict[str, list[Path]], options: AnalysisOptions, workers: int) -> None:
    engine.analyze(clip, references, options=options, workers=workers)  # warm the pool and models
    decode_before = in_child(plain_decode_s, clip)
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = engine.analyze(clip, references, options=options, workers=workers)
        wall = time.perf_counter() - started
    decode_s = (decode_before + in_child(plain_decode_s, clip)) / 2
    versus = f"{wall / decode_s:4.2f}x decode ({decode_s:5.2f} s)" if decode_s else " " * 23
    print(
        f"{clip.stem:>18} {result.media.height:5}p {result.media.duration_s:5.0f} s  {options.descriptor:5}  "
        f"wall {wall:6.2f} s  {result.media.duration_s / wall:5.1f}x real time  {versus}  "
        f"{result.stats.faces_described:4} described  peak memory {memory.peak_total / 2**20:4.0f} MiB resident, "
        f"{memory.peak_proportional / 2**20:4.0f} MiB proportional  {answer(result, options.sample_fps)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0], help="lengths of the synthetic clips")
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"], help="sizes of the synthetic clips")
    parser.add_argument("--street-seconds", type=float, default=40.0, help="length of the looped street clip")
    parser.add_argument("--descriptors", nargs="+", default=["sface", "dlib"], choices=["sface", "dlib"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reid-bench-") as scratch:
        folder = Path(scratch)
        synth.astronaut().save(folder / "eileen.png")
        synth.grace_hopper().save(folder / "grace.jpg")
        portraits = {"Eileen": [folder / "eileen.png"], "Grace": [folder / "grace.jpg"]}
        clips: list[tuple[Path, dict[str, list[Path]]]] = []
        if STREET.is_file():
            street = in_child(looped, STREET, folder / "street-loop.mp4", args.street_seconds)
            street_360p = in_child(downscaled, street, folder / "street-loop-360p.mp4", 360)
            clips += [(clip, street_persons(folder)) for clip in (street, street_360p)]
            clips.append((CORRIDOR / "corridor-phone.mp4", corridor_persons()))
        else:
            print(f"(real footage absent: {STREET}; synthetic clips only)")
        for seconds in args.seconds:
            for size in args.sizes:
                width, height = (int(v) for v in size.split("x"))
                clip = in_child(bench_clip, folder / f"synthetic-{size}-{seconds:.0f}s.mp4", seconds, (width, height))
                clips.append((clip, portraits))
        print(f"{os.cpu_count()} cores, {args.workers} workers, detector yunet, sample 2 fps")
        for descriptor in args.descriptors:
            options = AnalysisOptions(descriptor=descriptor)
            for clip, references in clips:
                run(clip, references, options, args.workers)


if __name__ == "__main__":
    main()
