"""Face detection behind one small interface, so detectors can be swapped and benched.

Both dlib detectors look for faces of at least 80x80 pixels, so the frame is resized first:
footage to a fixed detection height (a face 1/9 of the frame high, ~40 px in 360p, becomes
80 px), photos by up to 2x so that small faces in group shots are found too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from PIL import Image

from tools.reid.engine import models
from tools.reid.engine.geometry import from_dlib
from tools.reid.schemas import Box

DetectorName = Literal["hog", "cnn"]

VIDEO_DETECTION_HEIGHT = 720
"""Frames are detected at this height: faces down to 1/9 of the frame height are found."""
PHOTO_MAX_DETECTION_HEIGHT = 1600
HOG_MIN_SCORE = 0.0
"""dlib's own threshold; weaker HOG hits are mostly patterns on clothes."""


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray, scale: float) -> list[Detection]:
        """Faces in ``rgb`` (HxWx3 uint8) searched at ``scale`` times its size; boxes in
        the pixels of ``rgb``, strongest first."""
        ...


class HogDetector:
    """dlib's HOG + linear SVM: ~65 ms per 720-high frame on one core; frontal faces."""

    def detect(self, rgb: np.ndarray, scale: float) -> list[Detection]:
        rects, scores, _ = models.hog_detector().run(_resized(rgb, scale), 0, HOG_MIN_SCORE)
        return _detections(rgb, scale, zip(rects, scores, strict=True))


class CnnDetector:
    """dlib's MMOD CNN: finds turned and partly hidden faces HOG misses, ~20x slower."""

    def detect(self, rgb: np.ndarray, scale: float) -> list[Detection]:
        found = models.cnn_detector()(_resized(rgb, scale), 0)
        return _detections(rgb, scale, ((d.rect, d.confidence) for d in found))


def _detections(rgb: np.ndarray, scale: float, hits) -> list[Detection]:  # noqa: ANN001
    height, width = rgb.shape[:2]
    found = [Detection(from_dlib(rect, scale, width, height), float(score)) for rect, score in hits]
    return sorted(found, key=lambda d: d.score, reverse=True)


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def video_scale(height: int) -> float:
    return VIDEO_DETECTION_HEIGHT / height


def photo_scale(height: int) -> float:
    return min(2.0, PHOTO_MAX_DETECTION_HEIGHT / height)


def get_detector(name: DetectorName) -> FaceDetector:
    return CnnDetector() if name == "cnn" else HogDetector()
