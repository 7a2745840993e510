"""Face descriptors: who a face is, as a vector, and how far apart two faces are.

SFace (the default) aligns each face to the 112x112 ArcFace template with a 5-point
similarity transform and compares faces by cosine distance. Its landmarks are YuNet's: the
detection's own when YuNet found the face (measured on the street clip and the photos,
distances as good as with a second look, at 12% less work), else YuNet run on a crop around
the face (resized so its shorter side is ``ALIGN_CROP_PX``), else a template placed in the box.
dlib's ResNet (``descriptor="dlib"``, the ``[dlib]`` extra) compares by Euclidean distance.

Each descriptor brings its ``Scale``: the constants that read its distances, measured for
it, so the tracker and the matcher never assume one descriptor's numbers (its tolerances,
which requests choose from, are in ``schemas.TOLERANCES``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from tools.reid.engine import models
from tools.reid.engine.detect import Detection, yunet_faces
from tools.reid.engine.geometry import iou, to_dlib
from tools.reid.schemas import DescriptorName

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
"""Where the eyes, nose tip and mouth corners sit in SFace's 112x112 input."""
SFACE_INPUT_PX = 112
ALIGN_CROP_PX = 200
"""YuNet misses faces that fill its input and blurs small ones: ~200 px is where it aligns best."""
ALIGN_CROP_CONTEXT = 0.5
"""The crop adds this share of the box on every side, so the face does not fill it."""


@dataclass(frozen=True)
class Scale:
    """How to read one descriptor's distances (measured; see the README's engine section)."""

    margin: float
    """A match must be this much nearer to its person than to the next one."""
    lone_strictness: float
    """A track seen in one sampled frame only must be this much nearer than the tolerance."""
    link: float
    """Faces this close are one person even when their boxes do not overlap."""
    split: float
    """Faces this far apart are never one track, however their boxes overlap."""
    rejoin: float
    """Two tracks of one shot whose nearest faces are this close may be one person hidden for
    a moment (``rejoin``). Measured on the real clips (``bench.calibration_bench``): SFace puts
    one person's tracks 0.33-0.55 apart and two people's 0.61 and more; dlib one person's 0.44-0.50
    and two people's from 0.49 (Freda's track and Atinkum's, 0.53, near enough to chain by place)."""
    confidence_centre: float
    """The distance given a confidence of 50% (calibrated on the bench, not the tolerance)."""
    spread: float
    """Width of the confidence logistic around ``confidence_centre``."""
    embed_interval_s: float
    """A followed face is described again this often (descriptors cost time)."""


class Descriptor(Protocol):
    name: DescriptorName
    scale: Scale

    def describe(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        """(len(faces), 128) float32 descriptors of ``faces`` found in ``rgb``."""
        ...

    def distances(self, faces: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Distances, shape (len(faces), len(references))."""
        ...


class SFaceDescriptor:
    """SFace (OpenCV Zoo, int8) on OpenCV DNN: ~8 ms a face, cosine distance."""

    name: DescriptorName = "sface"
    scale = Scale(
        margin=0.08,
        lone_strictness=0.08,
        link=0.4,
        split=0.75,
        rejoin=0.56,
        confidence_centre=0.645,
        spread=0.041,
        embed_interval_s=2.0,
    )

    def describe(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 128), np.float32)
        net = models.sface()
        features = []
        for face in faces:
            # One face a forward: OpenCV's DNN gains nothing from batches and re-plans the
            # graph at every new batch size (measured: 5 faces cost 2-3x five singles).
            net.setInput(_aligned(rgb, face).transpose(2, 0, 1)[None].astype(np.float32), "data")
            features.append(net.forward().reshape(-1))
        stacked = np.stack(features)
        return (stacked / np.linalg.norm(stacked, axis=1, keepdims=True).clip(1e-6)).astype(np.float32)

    def distances(self, faces: np.ndarray, references: np.ndarray) -> np.ndarray:
        if len(faces) == 0 or len(references) == 0:
            return np.zeros((len(faces), len(references)), dtype=np.float32)
        return 1.0 - faces @ references.T


class DlibDescriptor:
    """dlib's 5-point alignment and ResNet (LFW 99.38%): ~80-190 ms a face, Euclidean distance."""

    name: DescriptorName = "dlib"
    scale = Scale(
        margin=0.05,
        lone_strictness=0.05,
        link=0.45,
        split=0.8,
        rejoin=0.45,
        confidence_centre=0.545,
        spread=0.051,
        embed_interval_s=3.0,
    )

    def describe(self, rgb: np.ndarray, faces: Sequence[Detection]) -> np.ndarray:
        encoder, predictor = models.face_encoder(), models.landmarks_5()
        return np.array(
            [encoder.compute_face_descriptor(rgb, predictor(rgb, to_dlib(face.box))) for face in faces],
            dtype=np.float32,
        ).reshape(len(faces), 128)

    def distances(self, faces: np.ndarray, references: np.ndarray) -> np.ndarray:
        if len(faces) == 0 or len(references) == 0:
            return np.zeros((len(faces), len(references)), dtype=np.float32)
        return np.linalg.norm(faces[:, None, :] - references[None, :, :], axis=2)


_DESCRIPTORS: dict[DescriptorName, Callable[[], Descriptor]] = {"sface": SFaceDescriptor, "dlib": DlibDescriptor}


def get_descriptor(name: DescriptorName) -> Descriptor:
    return _DESCRIPTORS[name]()


def _aligned(rgb: np.ndarray, face: Detection) -> np.ndarray:
    """The face warped onto the ArcFace template, 112x112 RGB."""
    transform, _ = cv2.estimateAffinePartial2D(_landmarks(rgb, face), ARCFACE_TEMPLATE, method=cv2.LMEDS)
    if transform is None:  # degenerate landmarks: fall back to the box
        transform, _ = cv2.estimateAffinePartial2D(_template_in(face.box), ARCFACE_TEMPLATE, method=cv2.LMEDS)
    return cv2.warpAffine(rgb, transform, (SFACE_INPUT_PX, SFACE_INPUT_PX), flags=cv2.INTER_LINEAR)


def _landmarks(rgb: np.ndarray, face: Detection) -> np.ndarray:
    if face.landmarks is not None:
        return face.landmarks
    found = _landmarks_in_crop(rgb, face)
    return found if found is not None else _template_in(face.box)


def _landmarks_in_crop(rgb: np.ndarray, face: Detection) -> np.ndarray | None:
    """YuNet's landmarks of the face, found again in a crop around its box."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = face.box
    pad = ALIGN_CROP_CONTEXT * max(right - left, bottom - top)
    crop_box = (
        max(0, round(left - pad)),
        max(0, round(top - pad)),
        min(width, round(right + pad)),
        min(height, round(bottom + pad)),
    )
    crop = rgb[crop_box[1] : crop_box[3], crop_box[0] : crop_box[2]]
    if min(crop.shape[:2]) < 8:
        return None
    scale = ALIGN_CROP_PX / min(crop.shape[:2])
    candidates = yunet_faces(crop, scale)
    inner = (left - crop_box[0], top - crop_box[1], right - crop_box[0], bottom - crop_box[1])
    best = max(candidates, key=lambda c: iou(c.box, inner), default=None)
    if best is None or best.landmarks is None or iou(best.box, inner) < 0.3:
        return None
    return best.landmarks + np.array(crop_box[:2], np.float32)


def _template_in(box: tuple[int, int, int, int]) -> np.ndarray:
    """The template's points placed in ``box``, as if the box were the template's frame."""
    left, top, right, bottom = box
    scale = np.array([(right - left) / SFACE_INPUT_PX, (bottom - top) / SFACE_INPUT_PX], np.float32)
    return ARCFACE_TEMPLATE * scale + np.array([left, top], np.float32)
