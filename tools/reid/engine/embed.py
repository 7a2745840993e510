"""Face descriptors: 5-point alignment, then dlib's ResNet 128-d embedding.

Two faces of the same person sit below ~0.6 apart (Euclidean), the LFW operating point.
One descriptor costs ~75 ms on one core, so the tracker asks for them sparingly.
"""

from __future__ import annotations

import numpy as np

from tools.reid.engine import models
from tools.reid.engine.geometry import to_dlib
from tools.reid.schemas import Box


def embed(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The 128-d descriptor (float32) of the face in ``box`` of ``rgb``."""
    shape = models.landmarks_5()(rgb, to_dlib(box))
    return np.asarray(models.face_encoder().compute_face_descriptor(rgb, shape), dtype=np.float32)


def distances(faces: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distances, shape (len(faces), len(references))."""
    if len(faces) == 0 or len(references) == 0:
        return np.zeros((len(faces), len(references)), dtype=np.float32)
    return np.linalg.norm(faces[:, None, :] - references[None, :, :], axis=2)
