"""The one place boxes are converted, scaled, clipped and compared.

A box is ``(left, top, right, bottom)`` in pixels, right and bottom exclusive.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tools.reid.engine.models import dlib_module
from tools.reid.schemas import Box

if TYPE_CHECKING:
    import dlib


def from_dlib(rect: dlib.rectangle, scale: float, width: int, height: int) -> Box:
    """A dlib rectangle found in an image resized by ``scale``, in original pixels."""
    return clip(
        (
            round(rect.left() / scale),
            round(rect.top() / scale),
            round((rect.right() + 1) / scale),
            round((rect.bottom() + 1) / scale),
        ),
        width,
        height,
    )


def to_dlib(box: Box) -> dlib.rectangle:
    left, top, right, bottom = box
    return dlib_module().rectangle(left, top, right - 1, bottom - 1)


def clip(box: Box, width: int, height: int) -> Box:
    left, top, right, bottom = box
    return (max(0, left), max(0, top), min(width, right), min(height, bottom))


def area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def iou(a: Box, b: Box) -> float:
    """Intersection over union, 0 for disjoint boxes."""
    inter = area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = area(a) + area(b) - inter
    return inter / union if union else 0.0


def ious(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`iou` of one box against each row of ``others`` at once, for boxes in any unit (BlazeFace's
    are fractions of the image): the suppression of overlapping detections compares hundreds."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = (box[2] - box[0]) * (box[3] - box[1]) + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


FOLLOW_DISTANCE = 0.8
"""A face moves at most this share of its size (the mean of both boxes' sizes: a face walking up
to the camera grows) between samples to be the same face: a walker at 2 fps in 1080p moves
~0.7 of his face's size."""
FOLLOW_SIZE_RATIO = 1.5
"""...and keeps its size within this ratio (a face behind him is usually much smaller)."""


def follow_distance(box: Box, before: Box, shift: tuple[float, float] = (0.0, 0.0)) -> float | None:
    """How far ``box`` moved from ``before``, in face sizes, when it can be the same face
    one sample later; None when it is too far or too different in size. ``shift`` is how far
    the camera moved the whole picture meanwhile (``camera_shift``)."""
    ratio = max(area(box), 1) / max(area(before), 1)
    if not 1 / FOLLOW_SIZE_RATIO**2 <= ratio <= FOLLOW_SIZE_RATIO**2:
        return None
    moved = moved_sizes(box, before, shift)
    return moved if moved <= FOLLOW_DISTANCE else None


def moved_sizes(box: Box, before: Box, shift: tuple[float, float] = (0.0, 0.0)) -> float:
    """How far ``box``'s centre is from ``before``'s, less the camera's ``shift``, in face sizes
    (the mean of both boxes' sizes)."""
    size = (max(area(before), 1) ** 0.5 + max(area(box), 1) ** 0.5) / 2
    dx = centre_x(box) - centre_x(before) - shift[0]
    dy = centre_y(box) - centre_y(before) - shift[1]
    return float((dx**2 + dy**2) ** 0.5 / size)


SHIFT_AGREEMENT = 0.3
"""Two faces moved alike when their moves differ by at most this share of the face's size."""


def camera_shift(boxes: list[Box], before: list[Box]) -> tuple[float, float]:
    """How far a hand-held camera moved the picture since the previous sample: the move that
    at least two faces and half of them share (each from some face before to a box now), when
    more faces share it than stood still; else none. A shaking phone moves every face further
    than a walker moves in half a second, and all of them alike; in a walking crowd two faces
    share some move by chance (on the street, when two sufficed, a track jumped 13 face sizes
    from a grey-haired man onto a white-haired woman)."""
    if len(boxes) < 2 or len(before) < 2:
        return (0.0, 0.0)
    now = np.array([(centre_x(b), centre_y(b)) for b in boxes])
    then = np.array([(centre_x(b), centre_y(b)) for b in before])
    sizes = np.array([max(area(b), 1) ** 0.5 for b in before])
    moves = (now[:, None, :] - then[None, :, :]).reshape(-1, 2)
    scale = np.tile(sizes, len(boxes))
    candidates = np.vstack([np.zeros((1, 2)), moves])
    residual = np.linalg.norm(moves[None, :, :] - candidates[:, None, :], axis=2) / scale[None, :]
    agree = residual <= SHIFT_AGREEMENT
    # each face now, and each face before, counts once for a candidate move
    support = np.minimum(
        agree.reshape(len(candidates), len(boxes), len(before)).any(axis=2).sum(axis=1),
        agree.reshape(len(candidates), len(boxes), len(before)).any(axis=1).sum(axis=1),
    )
    best = int(np.argmax(support))
    needed = max(2, math.ceil(min(len(boxes), len(before)) / 2))
    if best == 0 or support[best] < needed or support[best] <= support[0]:
        return (0.0, 0.0)
    return (float(candidates[best][0]), float(candidates[best][1]))


def centre_y(box: Box) -> float:
    return (box[1] + box[3]) / 2


def centre_x(box: Box) -> float:
    return (box[0] + box[2]) / 2
