"""Per-frame work: find the faces in sampled frames and describe the ones that need it.

Detection costs time too, so the whole frame is searched only every ``full_every`` grid
points, after every shot cut and where the previous grid point has no frame; in between, only
regions around the faces of the previous sample are (YuNet's ``detect_around``; other
detectors search every sample whole), so a face that enters mid-shot is found by the next
whole pass at the latest. A segment replays this chain
from the last whole pass before it (detection only), so it sees the faces one pass would.

Descriptors cost time, so a face that cannot decide who it is (``quality.detection_is_good``:
small, unsure or turned) and continues one from the previous sampled frame of the same shot
(moved a little, ``geometry.follow_distance``) is described only every ``embed_every`` grid
points. Every face that can decide is described: position alone cannot tell a walker from the
one who steps into his place (in the corridor, Prince took the box Atinkum had just left and,
undescribed, was never named), and a track is decided from its nearest good faces. After a
shot cut every face is described. The rule looks only at the previous grid point
and at the frames decoded since it, so a segment of the grid processed alone (one extra
frame of context) gives exactly what one pass over the whole video gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.reid.engine.decode import sampled_frames
from tools.reid.engine.detect import Detection, DetectorName, FaceDetector, YuNetDetector, get_detector
from tools.reid.engine.embed import Descriptor, DescriptorName, get_descriptor
from tools.reid.engine.geometry import follow_distance
from tools.reid.engine.quality import Quality, detection_is_good, measure
from tools.reid.schemas import Box


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    descriptor: np.ndarray | None
    quality: Quality | None = None
    """Measured for described faces: what their descriptor is worth (``quality``)."""
    landmarks: np.ndarray | None = None
    """The detector's five landmarks, when it gives them."""


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
    """What every segment of one analysis shares; picklable, for a cluster's worker processes."""

    sample_fps: float
    detector: DetectorName
    descriptor: DescriptorName
    min_face_px: float
    embed_every: int
    full_every: int = 1
    """Grid points between whole-frame detections (1: every sample is searched whole)."""
    decode_threads: int = 0
    """FFmpeg's decoding threads (0: its choice, one per core)."""


def describe_faces(
    rgb: np.ndarray, detections: list[Detection], descriptor: Descriptor, should_embed: Callable[[Detection], bool]
) -> list[Face]:
    """Faces of one frame; ``should_embed(detection)`` says which get a descriptor (one batch)."""
    chosen = [d for d in detections if should_embed(d)]
    vectors = dict(zip((id(d) for d in chosen), descriptor.describe(rgb, chosen), strict=True))
    return [
        Face(d.box, d.score, vectors[id(d)], measure(rgb, d.box, d.score, d.landmarks), d.landmarks)
        if id(d) in vectors
        else Face(d.box, d.score, None, None, d.landmarks)
        for d in detections
    ]


def every_face(rgb: np.ndarray, detector: FaceDetector, descriptor: Descriptor, min_face_px: float) -> list[Face]:
    """Every face of an image, each described (photos, and benches that score every face)."""
    return describe_faces(rgb, detector.detect(rgb, min_face_px), descriptor, lambda _d: True)


REDESCRIBE_POOR_FACES = True
"""Whether a followed face that is not good is described again every ``embed_every`` points
(its track is decided from its good faces when it has any; ``bench.levers_bench`` measures it)."""


def needs_description(detection: Detection, k: int, embed_every: int, previous: list[Detection]) -> bool:
    """Whether a face of grid point ``k`` is described, given the faces of the previous one."""
    if detection_is_good(detection):
        return True
    if not any(follow_distance(detection.box, d.box) is not None for d in previous):
        return True
    return k % embed_every == 0 and REDESCRIBE_POOR_FACES


def analyse_segment(path: Path, spec: SegmentSpec, first: int, stop: int | None) -> SegmentResult:
    """Faces in grid points ``first <= k < stop``; runs in any thread, or in a cluster's worker."""
    detector = get_detector(spec.detector)
    descriptor = get_descriptor(spec.descriptor)
    result = SegmentResult()
    counter = [0]
    previous_index = -2
    previous: list[Detection] = []
    # Context before the segment: from the last whole pass on, where faces were just before it.
    replay_from = max(0, first - 1) // spec.full_every * spec.full_every
    for frame in sampled_frames(path, spec.sample_fps, replay_from, stop, counter, spec.decode_threads):
        same_shot = previous_index == frame.index - 1 and not frame.cut_before
        before: list[Detection] = previous if same_shot else []
        if same_shot and frame.index % spec.full_every and isinstance(detector, YuNetDetector):
            detections = detector.detect_around(frame.rgb, [d.box for d in before], spec.min_face_px)
        else:
            detections = detector.detect(frame.rgb, spec.min_face_px)

        def should_embed(detection: Detection, k: int = frame.index, before: list[Detection] = before) -> bool:
            return needs_description(detection, k, spec.embed_every, before)

        if frame.index < first:
            previous_index, previous = frame.index, detections
            continue
        faces = describe_faces(frame.rgb, detections, descriptor, should_embed)
        result.frames.append(FrameFaces(frame.index, frame.time, faces, frame.cut_before))
        result.faces_described += sum(f.descriptor is not None for f in faces)
        result.last_time = frame.time
        previous_index, previous = frame.index, detections
    result.frames_decoded = counter[0]
    return result
