"""Sampling a video while skipping the frames nothing refers to: every grid point still gets
the very frame a decode of every frame gives it (same time, same pixels), on synthetic clips
with B-frames and on the real footage of ../shared."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from tools.reid import synth
from tools.reid.engine import decode

SAMPLE_FPS = 2.0
FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "footage"


def every_frame_sampled(path: Path, sample_fps: float) -> tuple[dict[int, tuple[float, np.ndarray]], int]:
    """grid index -> (time, pixels) of the first frame at or after each grid point, from a
    decode of every frame (the reference), and how many frames the video has."""
    found: dict[int, tuple[float, np.ndarray]] = {}
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        origin = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        for frame in container.decode(stream):
            assert frame.pts is not None
            count += 1
            time_s = float(frame.pts * stream.time_base) - origin
            index = math.floor(time_s * sample_fps + 1e-6)
            if index not in found and all(index > k for k in found):
                found[index] = (round(time_s, 3), decode.upright(frame))
    return found, count


def assert_exact_samples(path: Path, first: int = 0, stop: int | None = None) -> int:
    """Asserts the sampled frames are the reference's; returns how many frames were decoded."""
    reference, _ = every_frame_sampled(path, SAMPLE_FPS)
    counter = [0]
    sampled = list(decode.sampled_frames(path, SAMPLE_FPS, first, stop, counter, threads=1))
    wanted = [k for k in reference if k >= first and (stop is None or k < stop)]
    assert [s.index for s in sampled] == wanted
    for sample in sampled:
        time_s, pixels = reference[sample.index]
        assert sample.time == time_s, f"grid point {sample.index}: frame at {sample.time} s, not {time_s} s"
        assert np.array_equal(sample.rgb, pixels), f"grid point {sample.index}: other pixels"
    return counter[0]


@pytest.fixture(scope="module")
def moving_clip(make_clip) -> Path:
    """A face gliding across for 6 s at 25 fps: consecutive frames differ, so a frame one late
    has other pixels. libx264 (veryfast) writes B-frames that nothing refers to."""
    glide = synth.Actor(synth.astronaut_portrait(), 0.0, 6.0, synth.glide(0.1, 0.8, 6))
    return make_clip("sampling_glide", [glide], 6.0)


def test_every_grid_point_gets_the_frame_a_full_decode_gives_it(moving_clip: Path) -> None:
    decoded = assert_exact_samples(moving_clip)
    _, frames = every_frame_sampled(moving_clip, SAMPLE_FPS)
    assert decoded < 0.75 * frames, f"{decoded} of {frames} frames decoded: non-reference frames were not skipped"


def test_a_segment_after_a_seek_gets_the_same_frames(moving_clip: Path) -> None:
    assert_exact_samples(moving_clip, first=5, stop=9)


def test_frames_near_a_grid_point_are_decoded_and_the_others_skipped() -> None:
    rate = 25.0
    assert decode._near_grid(0.52, SAMPLE_FPS, rate)  # the first frame after the grid point 0.5 s
    assert decode._near_grid(1.0, SAMPLE_FPS, rate)  # a frame on the grid point
    assert not decode._near_grid(0.56, SAMPLE_FPS, rate)
    assert not decode._near_grid(0.96, SAMPLE_FPS, rate)


@pytest.mark.parametrize("name", ["street-1080p.mp4", "corridor/corridor-phone.mp4"])
def test_real_footage_is_sampled_at_its_exact_frames(name: str) -> None:
    path = FOOTAGE / name
    if not path.is_file():
        pytest.skip(f"real footage absent: {path} (../shared/fixtures/footage is not mounted)")
    assert_exact_samples(path)
