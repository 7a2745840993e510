"""Detection around known faces between whole-frame passes (issue 21): regions find the faces
they surround, the whole frame is searched when that is no more work, and a face that enters
mid-shot is found by the next whole pass. Package-shipped portraits on a plain background."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.reid import synth
from tools.reid.engine.detect import YuNetDetector
from tools.reid.engine.frames import SegmentSpec, analyse_segment
from tools.reid.engine.geometry import iou
from tools.reid.schemas import Box


def _frame(size: tuple[int, int], faces: list[tuple[Image.Image, float]]) -> np.ndarray:
    """Portraits a quarter of the frame's height, at the given shares of its width."""
    canvas = Image.new("RGB", size, (52, 58, 66))
    for portrait, x in faces:
        height = size[1] // 4
        sprite = portrait.resize((round(portrait.width * height / portrait.height), height))
        canvas.paste(sprite, (round(x * size[0] - sprite.width / 2), size[1] // 2 - height // 2))
    return np.asarray(canvas)


@pytest.fixture(scope="module")
def two_faces() -> np.ndarray:
    return _frame((1920, 1080), [(synth.astronaut_portrait(), 0.25), (synth.hopper_portrait(), 0.75)])


def _moved(box: Box, dx: int) -> Box:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


def test_a_region_finds_the_face_it_surrounds_and_only_that_one(two_faces: np.ndarray) -> None:
    detector = YuNetDetector()
    whole = sorted(detector.detect(two_faces, 32.0), key=lambda d: d.box[0])
    assert len(whole) == 2
    # The left face as it was one sample earlier, a third of its width to the left.
    before = _moved(whole[0].box, -(whole[0].box[2] - whole[0].box[0]) // 3)
    around = detector.detect_around(two_faces, [before], 32.0)
    assert len(around) == 1
    assert iou(around[0].box, whole[0].box) > 0.7
    assert around[0].landmarks is not None
    assert whole[0].box[0] < around[0].landmarks[0][0] < whole[0].box[2], "landmarks in frame pixels"


def test_the_whole_frame_is_searched_when_regions_are_no_less_work() -> None:
    small = _frame((640, 360), [(synth.astronaut_portrait(), 0.25), (synth.hopper_portrait(), 0.75)])
    detector = YuNetDetector()
    whole = detector.detect(small, 32.0)
    left = min(whole, key=lambda d: d.box[0])
    # At 360p the whole pass is 320x180 pixels: three 160 px regions would cost more.
    assert len(detector.detect_around(small, [left.box] * 2, 32.0)) == 1
    assert len(detector.detect_around(small, [left.box] * 3, 32.0)) == 2


def test_a_face_that_enters_mid_shot_is_found_by_the_next_whole_pass(tmp_path: Path) -> None:
    clip = synth.write_clip(
        tmp_path / "enters.mp4",
        [
            synth.Actor(synth.astronaut_portrait(), 0.0, 4.0, synth.still(0.25, height=0.3)),
            synth.Actor(synth.hopper_portrait(), 2.1, 4.0, synth.still(0.75, height=0.3)),
        ],
        4.0,
        size=(1280, 720),
    )
    spec = SegmentSpec(sample_fps=2.0, detector="yunet", descriptor="sface", min_face_px=32.0, embed_every=4)
    whole = {f.index: len(f.faces) for f in analyse_segment(clip, spec, 0, None).frames}
    regions = {f.index: len(f.faces) for f in analyse_segment(clip, replace(spec, full_every=2), 0, None).frames}
    assert whole[5] == 2, "she is on screen from 2.1 s (grid point 5 is 2.5 s)"
    assert regions[5] == 1, "grid point 5 is searched only around the face of grid point 4"
    assert regions[6] == regions[7] == 2, "grid point 6 is a whole pass, and 7 searches around both"
    assert [regions[k] for k in range(5)] == [whole[k] for k in range(5)] == [1] * 5
