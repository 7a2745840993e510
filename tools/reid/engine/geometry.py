"""The one place boxes are converted, scaled, clipped and compared.

A box is ``(left, top, right, bottom)`` in pixels, right and bottom exclusive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def centre_x(box: Box) -> float:
    return (box[0] + box[2]) / 2
