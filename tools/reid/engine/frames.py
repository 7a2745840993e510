"""Per-frame work: find the faces in sampled frames and describe the ones that need it.

Descriptors cost time, so a face that continues one from the previous sampled frame of the
same shot (moved a little, ``geometry.follow_distance``) is described only every
``embed_every`` grid points;
after a shot cut every face is described. The rule looks only at the previous grid point
and at the frames decoded since it, so a segment of the grid processed alone (one extra
frame of context) gives exactly what one pass over the whole video gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.reid.engine.decode import sampled_frames
from tools.reid.engine.detect import DetectorName, FaceDetector, get_detector
from tools.reid.engine.embed import Descriptor, DescriptorName, get_descriptor
from tools.reid.engine.geometry import follow_distance
from tools.reid.schemas import Box


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
    cut_before: bool = False
    """A shot cut happened since the previous sampled frame: no track continues across it."""


@dataclass
class SegmentResult:
    frames: list[FrameFaces] = field(default_factory=list)
    frames_decoded: int = 0
    last_time: float = 0.0
    faces_described: int = 0


@dataclass(frozen=True)
class SegmentSpec:
    """What every segment of one analysis shares; picklable, for worker processes."""

    sample_fps: float
    detector: DetectorName
    descriptor: DescriptorName
    min_face_px: float
    embed_every: int


def describe_faces(
    rgb: np.ndarray,
    detector: FaceDetector,
    descriptor: Descriptor,
    min_face_px: float,
    should_embed: Callable[[Box], bool],
) -> list[Face]:
    """Faces of one frame; ``should_embed(box)`` says which get a descriptor (one batch)."""
    detections = detector.detect(rgb, min_face_px)
    chosen = [d for d in detections if should_embed(d.box)]
    vectors = dict(zip((id(d) for d in chosen), descriptor.describe(rgb, chosen), strict=True))
    return [Face(d.box, d.score, vectors.get(id(d))) for d in detections]


def continues(box: Box, previous: list[Box]) -> bool:
    """Whether ``box`` can be a face of the previous sample that moved a little (the tracker
    links such faces by the same rule, ``geometry.follow_distance``)."""
    return any(follow_distance(box, other) is not None for other in previous)


def analyse_segment(path: Path, spec: SegmentSpec, first: int, stop: int | None) -> SegmentResult:
    """Faces in grid points ``first <= k < stop``; runs in a worker process or in this one."""
    detector = get_detector(spec.detector)
    descriptor = get_descriptor(spec.descriptor)
    result = SegmentResult()
    counter = [0]
    previous_index = -2
    previous_boxes: list[Box] = []
    for frame in sampled_frames(path, spec.sample_fps, max(0, first - 1), stop, counter):
        same_shot = previous_index == frame.index - 1 and not frame.cut_before
        boxes_before = previous_boxes if same_shot else []

        def should_embed(box: Box, k: int = frame.index, before: list[Box] = boxes_before) -> bool:
            return k % spec.embed_every == 0 or not continues(box, before)

        if frame.index < first:  # context only: where faces were just before the segment
            previous_index = frame.index
            previous_boxes = [d.box for d in detector.detect(frame.rgb, spec.min_face_px)]
            continue
        faces = describe_faces(frame.rgb, detector, descriptor, spec.min_face_px, should_embed)
        result.frames.append(FrameFaces(frame.index, frame.time, faces, frame.cut_before))
        result.faces_described += sum(f.descriptor is not None for f in faces)
        result.last_time = frame.time
        previous_index, previous_boxes = frame.index, [f.box for f in faces]
    result.frames_decoded = counter[0]
    return result
