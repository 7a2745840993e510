"""Per-frame work: find the faces in sampled frames and describe the ones that need it.

Descriptors cost ~75 ms each, so a face that continues one from the previous sampled frame
(same place, similar size) is described only every ``embed_every`` grid points. The rule
looks only at the previous grid point, so a segment of the grid processed alone (one extra
frame of context) gives exactly what one pass over the whole video gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.reid.engine.decode import sampled_frames
from tools.reid.engine.detect import DetectorName, FaceDetector, get_detector
from tools.reid.engine.embed import embed
from tools.reid.engine.geometry import area, iou
from tools.reid.schemas import Box

CONTINUES_IOU = 0.3
CONTINUES_SIZE_RATIO = 1.5


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    descriptor: np.ndarray | None


@dataclass(frozen=True)
class FrameFaces:
    index: int
    time: float
    faces: list[Face]


@dataclass
class SegmentResult:
    frames: list[FrameFaces] = field(default_factory=list)
    frames_decoded: int = 0
    last_time: float = 0.0


def describe_faces(
    rgb: np.ndarray, detector: FaceDetector, min_face_px: float, should_embed: Callable[[Box], bool]
) -> list[Face]:
    """Faces of one frame; ``should_embed(box)`` says which get a descriptor."""
    return [
        Face(d.box, d.score, embed(rgb, d.box) if should_embed(d.box) else None)
        for d in detector.detect(rgb, min_face_px)
    ]


def continues(box: Box, previous: list[Box]) -> bool:
    """Whether ``box`` is a face already seen at about the same place and size."""
    for other in previous:
        ratio = max(area(box), 1) / max(area(other), 1)
        if iou(box, other) >= CONTINUES_IOU and 1 / CONTINUES_SIZE_RATIO <= ratio <= CONTINUES_SIZE_RATIO:
            return True
    return False


def analyse_segment(
    path: Path,
    sample_fps: float,
    first: int,
    stop: int | None,
    detector_name: DetectorName,
    min_face_px: float,
    embed_every: int,
) -> SegmentResult:
    """Faces in grid points ``first <= k < stop``; runs in a worker process."""
    detector = get_detector(detector_name)
    result = SegmentResult()
    counter = [0]
    previous_index, previous_boxes = -2, []
    for frame in sampled_frames(path, sample_fps, max(0, first - 1), stop, counter):
        boxes_before = previous_boxes if previous_index == frame.index - 1 else []

        def should_embed(box: Box, k: int = frame.index, before: list[Box] = boxes_before) -> bool:
            return k % embed_every == 0 or not continues(box, before)

        if frame.index < first:  # context only: where faces were just before the segment
            previous_index = frame.index
            previous_boxes = [d.box for d in detector.detect(frame.rgb, min_face_px)]
            continue
        faces = describe_faces(frame.rgb, detector, min_face_px, should_embed)
        result.frames.append(FrameFaces(frame.index, frame.time, faces))
        result.last_time = frame.time
        previous_index, previous_boxes = frame.index, [f.box for f in faces]
    result.frames_decoded = counter[0]
    return result
