"""How much a face can say about who it is: its size, sharpness, detector score and pose.

A small, blurred or turned face sits further from anyone's photo, its own person's too, so
it is weak evidence either way; the matcher decides from the faces that pass ``is_good``
(thresholds measured by ``python -m bench.calibration_bench``; see the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tools.reid.engine.detect import Detection
from tools.reid.schemas import Box

SHARPNESS_PX = 64
"""Sharpness is measured on the face resized to this height, so it does not grow with size."""
GOOD_HEIGHT_PX = 40
"""Faces at least this tall (the detector's box)..."""
GOOD_SCORE = 0.9
"""...that the detector is this sure of..."""
GOOD_YAW = 0.35
"""...and turned at most this far (``yaw``: ~0 frontal, ~0.35 three-quarter, ~0.6 and more profile)."""


@dataclass(frozen=True)
class Quality:
    height: int
    score: float
    yaw: float | None
    """Nose offset from the eyes' midpoint over the eyes' distance; None without landmarks."""
    sharpness: float
    """Variance of the Laplacian of the grey face at ``SHARPNESS_PX`` tall."""

    def is_good(self) -> bool:
        """A face that can carry a decision about who it is."""
        return is_good(self.height, self.score, self.yaw)


def is_good(height: int, score: float, turned: float | None) -> bool:
    """Big enough, a sure detection, frontal to three-quarter (``turned``: a ``yaw``)."""
    frontal = turned is None or abs(turned) <= GOOD_YAW
    return height >= GOOD_HEIGHT_PX and score >= GOOD_SCORE and frontal


def detection_is_good(detection: Detection) -> bool:
    """``is_good`` from what the detector says alone (no pixels looked at)."""
    return is_good(detection.box[3] - detection.box[1], detection.score, yaw(detection.landmarks))


def yaw(landmarks: np.ndarray | None) -> float | None:
    """How far a face is turned, from its five landmarks (eyes, nose tip, mouth corners)."""
    if landmarks is None:
        return None
    eyes = landmarks[:2]
    spread = float(np.linalg.norm(eyes[1] - eyes[0]))
    if spread < 1e-3:
        return None
    return round(float(landmarks[2][0] - eyes[:, 0].mean()) / spread, 3)


def sharpness(rgb: np.ndarray, box: Box) -> float:
    left, top, right, bottom = box
    crop = rgb[max(0, top) : bottom, max(0, left) : right]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    width = max(1, round(grey.shape[1] * SHARPNESS_PX / max(grey.shape[0], 1)))
    small = cv2.resize(grey, (width, SHARPNESS_PX), interpolation=cv2.INTER_AREA)
    return round(float(cv2.Laplacian(small, cv2.CV_32F).var()), 1)


def measure(rgb: np.ndarray, box: Box, score: float, landmarks: np.ndarray | None) -> Quality:
    return Quality(height=box[3] - box[1], score=round(score, 3), yaw=yaw(landmarks), sharpness=sharpness(rgb, box))
