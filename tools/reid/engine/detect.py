"""Face detection behind one small interface, so detectors can be swapped and benched.

Callers say how small a face must still be found (``min_face_px``); each detector turns
that into its own work: YuNet (the default) runs on the frame scaled so that such a face
spans ``YUNET_SMALLEST_FACE_PX`` of its input, plus a coarse pass for faces too large for
that scale; dlib's detectors resize the frame so such a face spans their 80-pixel window;
BlazeFace looks at the whole frame and at overlapping square tiles.

Footage asks for faces down to ``VIDEO_MIN_FACE_PX`` at any resolution (the smallest size
the descriptor still tells people apart), photos for faces down to 1/40 of their height.
Measured on the street clip (1080p, a crowd; ``bench/detector_bench.py``): YuNet found 67 of
85 faces at 35 ms a frame, with 3 false ones; BlazeFace, tiled for 32 px faces, 72 at 300 ms,
most of those only it found being false; HOG 31 at 750 ms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from tools.reid.engine import blazeface, models
from tools.reid.engine.geometry import area, clip, from_dlib, iou
from tools.reid.schemas import Box, DetectorName

VIDEO_MIN_FACE_PX = 32.0
"""Smaller faces carry too few pixels for the descriptor to tell people apart."""
YUNET_SMALLEST_FACE_PX = 16.0
"""YuNet finds faces down to ~13 px of its input (``YUNET_FINDS_PX``); 16 keeps a margin."""
YUNET_COARSE_SIDE = 320
"""The coarse pass: the long side of the frame at this size, for faces that fill it."""
DLIB_WINDOW_PX = 80
DLIB_MAX_SCALE = 2.0
"""Upscaling past 2x costs 4x per step and mostly finds blur."""
HOG_MIN_SCORE = 0.0
BLAZEFACE_MIN_FACE_INPUT_PX = 20
"""The smallest face BlazeFace full-range finds reliably, in its 192-pixel input."""
TILE_OVERLAP = 0.2
DUPLICATE_IOU = 0.3
DUPLICATE_CONTAINMENT = 0.6
FULL_PASS_INTERVAL_S = 0.0
"""Footage is searched whole at least this often; in between only around known faces (0: every
sample whole). Off by default: every 1 s it cost 16% less CPU on the crowded 1080p street with
the same recall, but in the corridor it lost the unknown group of a woman who enters mid-shot
(``tests/test_unknown_real_footage.py``); ``bench.levers_bench`` measures it."""
REGION_CONTEXT = 1.5
"""A region around a known face adds this many face sizes on every side: between two samples
a face moves at most 0.8 of its size and still counts as the same (``geometry.FOLLOW_DISTANCE``)."""
REGION_INPUT_PX = 160
"""A region is searched at this size: the face then spans ~40 px of YuNet's input. Searched at
the whole pass's scale instead, YuNet lost 2 of 3 faces of the regions (360p street loop)."""
YUNET_FINDS_PX = 13.0
"""The smallest face YuNet finds, in pixels of its input."""


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float
    landmarks: np.ndarray | None = None
    """(5, 2) eyes, nose tip, mouth corners in pixels (YuNet's order), when the detector gives them."""


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray, min_face_px: float) -> list[Detection]:
        """Faces in ``rgb`` (HxWx3 uint8) at least ``min_face_px`` high; boxes in its
        pixels, strongest first."""
        ...


def video_min_face(height: int) -> float:
    """The smallest face searched for in footage: a pixel size, whatever the resolution."""
    return min(VIDEO_MIN_FACE_PX, height / 4)


def photo_min_face(height: int) -> float:
    return max(24.0, height / 40)


class YuNetDetector:
    """OpenCV Zoo's YuNet (int8): finds small, turned and partly hidden faces, with landmarks."""

    def detect(self, rgb: np.ndarray, min_face_px: float) -> list[Detection]:
        longest = max(rgb.shape[:2])
        fine = min(1.0, YUNET_SMALLEST_FACE_PX / min_face_px)
        found = yunet_faces(rgb, fine)
        if longest * fine > 2 * YUNET_COARSE_SIDE:
            found += yunet_faces(rgb, YUNET_COARSE_SIDE / longest)
        return _without_duplicates(found)

    def detect_around(self, rgb: np.ndarray, boxes: Sequence[Box], min_face_px: float) -> list[Detection]:
        """Faces near ``boxes`` (the faces of the previous sample), each region searched alone:
        a few small inputs instead of the whole frame, or the whole frame when that is no more
        work. Faces cut by a region's inner edge are left out; a face new to the frame waits
        for the next whole pass."""
        height, width = rgb.shape[:2]
        fine = min(1.0, YUNET_SMALLEST_FACE_PX / min_face_px)
        if len(boxes) * REGION_INPUT_PX**2 >= width * height * fine**2:
            return self.detect(rgb, min_face_px)
        smallest = min_face_px * YUNET_FINDS_PX / YUNET_SMALLEST_FACE_PX  # what the whole pass finds
        found: list[Detection] = []
        for region in _regions(boxes, width, height):
            left, top, right, bottom = region
            crop = rgb[top:bottom, left:right]
            for d in yunet_faces(crop, REGION_INPUT_PX / max(crop.shape[:2])):
                if d.box[3] - d.box[1] >= smallest and not _touches_inner_edge(d.box, region, width, height):
                    found.append(_shifted(d, left, top))
        return _without_duplicates(found)


def _regions(boxes: Sequence[Box], width: int, height: int) -> list[Box]:
    regions = []
    for left, top, right, bottom in boxes:
        pad = REGION_CONTEXT * max(right - left, bottom - top)
        regions.append(_box((left - pad, top - pad, right + pad, bottom + pad), width, height))
    return regions


def _shifted(found: Detection, dx: int, dy: int) -> Detection:
    left, top, right, bottom = found.box
    landmarks = None if found.landmarks is None else found.landmarks + np.array([dx, dy], np.float32)
    return replace(found, box=(left + dx, top + dy, right + dx, bottom + dy), landmarks=landmarks)


def yunet_faces(rgb: np.ndarray, scale: float) -> list[Detection]:
    """YuNet's faces in ``rgb`` resized by ``scale``, in pixels of ``rgb``."""
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = rgb if size == (width, height) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    detector = models.yunet()
    detector.setInputSize(size)
    _, faces = detector.detect(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    if faces is None:
        return []
    sx, sy = width / size[0], height / size[1]
    found = []
    for face in faces:
        left, top, w, h = float(face[0]) * sx, float(face[1]) * sy, float(face[2]) * sx, float(face[3]) * sy
        box = _box((left, top, left + w, top + h), width, height)
        landmarks = face[4:14].reshape(5, 2) * np.array([sx, sy], np.float32)
        found.append(Detection(box, float(face[14]), landmarks))
    return found


class HogDetector:
    """dlib's HOG + linear SVM: ~65 ms per 720-high frame on one core; frontal faces."""

    def detect(self, rgb: np.ndarray, min_face_px: float) -> list[Detection]:
        scale = min(DLIB_MAX_SCALE, DLIB_WINDOW_PX / min_face_px)
        rects, scores, _ = models.hog_detector().run(_resized(rgb, scale), 0, HOG_MIN_SCORE)
        return _from_dlib(rgb, scale, zip(rects, scores, strict=True))


class CnnDetector:
    """dlib's MMOD CNN: finds turned and partly hidden faces HOG misses, ~20x slower."""

    def detect(self, rgb: np.ndarray, min_face_px: float) -> list[Detection]:
        scale = min(DLIB_MAX_SCALE, DLIB_WINDOW_PX / min_face_px)
        found = models.cnn_detector()(_resized(rgb, scale), 0)
        return _from_dlib(rgb, scale, ((d.rect, d.confidence) for d in found))


class BlazeFaceDetector:
    """MediaPipe's BlazeFace full range on LiteRT: ~5 ms per view; finds turned heads.

    Views: the whole frame, then square tiles of doubling size from the smallest that
    still shows a ``min_face_px`` face large enough, so every face size falls fully inside
    the tiles of some level.
    """

    def detect(self, rgb: np.ndarray, min_face_px: float) -> list[Detection]:
        height, width = rgb.shape[:2]
        found = [Detection(_box(b, width, height), s) for b, s in blazeface.detect(rgb)]
        for tile in tile_pyramid(width, height, min_face_px * blazeface.INPUT_SIZE / BLAZEFACE_MIN_FACE_INPUT_PX):
            left, top, right, bottom = tile
            for b, s in blazeface.detect(rgb[top:bottom, left:right]):
                if not _touches_inner_edge(b, tile, width, height):
                    shifted = (b[0] + left, b[1] + top, b[2] + left, b[3] + top)
                    found.append(Detection(_box(shifted, width, height), s))
        return _without_duplicates(found)


def tile_pyramid(width: int, height: int, smallest: float) -> list[Box]:
    """Tiles of sides ``smallest``, twice that, ... while smaller than the frame."""
    tiles: list[Box] = []
    side = max(32.0, smallest)
    while side < max(width, height):
        tiles += square_tiles(width, height, round(side))
        if side >= min(width, height):
            break
        side *= 2
    return tiles


def square_tiles(width: int, height: int, side: int) -> list[Box]:
    """Squares of ``side`` covering the frame, overlapping by at least ``TILE_OVERLAP``."""
    side = min(side, width, height)
    return [(x, y, x + side, y + side) for y in _starts(height, side) for x in _starts(width, side)]


def _starts(length: int, side: int) -> list[int]:
    if side >= length:
        return [0]
    count = math.ceil((length - side) / (side * (1 - TILE_OVERLAP))) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def _touches_inner_edge(box: tuple[float, float, float, float], tile: Box, width: int, height: int) -> bool:
    """A face cut by a tile edge inside the frame is left to the neighbouring tile."""
    left, top, right, bottom = tile
    margin = 2
    return (
        (left > 0 and box[0] <= margin)
        or (top > 0 and box[1] <= margin)
        or (right < width and box[2] >= right - left - margin)
        or (bottom < height and box[3] >= bottom - top - margin)
    )


def _box(box: tuple[float, float, float, float], width: int, height: int) -> Box:
    return clip(tuple(round(v) for v in box), width, height)  # type: ignore[arg-type]


def _without_duplicates(found: list[Detection]) -> list[Detection]:
    kept: list[Detection] = []
    for candidate in sorted(found, key=lambda d: d.score, reverse=True):
        if not any(_same_face(candidate.box, other.box) for other in kept):
            kept.append(candidate)
    return kept


def _same_face(a: Box, b: Box) -> bool:
    inter = area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    smaller = max(1, min(area(a), area(b)))
    return iou(a, b) > DUPLICATE_IOU or inter / smaller > DUPLICATE_CONTAINMENT


def _from_dlib(rgb: np.ndarray, scale: float, hits: Iterable) -> list[Detection]:
    height, width = rgb.shape[:2]
    found = [Detection(from_dlib(rect, scale, width, height), float(score)) for rect, score in hits]
    return sorted(found, key=lambda d: d.score, reverse=True)


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


_DETECTORS: dict[DetectorName, Callable[[], FaceDetector]] = {
    "yunet": YuNetDetector,
    "blazeface": BlazeFaceDetector,
    "hog": HogDetector,
    "cnn": CnnDetector,
}


def get_detector(name: DetectorName) -> FaceDetector:
    return _DETECTORS[name]()
