"""Face descriptors built by hand at exact cosine distances, and the face qualities around the
decision's floor: the decision and tracking rules tested on every run without a model."""

from __future__ import annotations

import numpy as np

from tools.reid.engine.quality import Quality
from tools.reid.engine.references import Person

GOOD = Quality(height=90, score=0.93, yaw=0.05, sharpness=150.0)
POOR = Quality(height=32, score=0.82, yaw=0.1, sharpness=15.0)


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return vector / np.linalg.norm(vector)


def at_distance(reference: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """A unit vector at exactly this cosine distance from ``reference``, in a random direction
    (``seed``'s)."""
    return towards(reference, unit(seed), distance)


def towards(reference: np.ndarray, direction: np.ndarray, distance: float) -> np.ndarray:
    """A unit vector at exactly this cosine distance from ``reference``, turned towards
    ``direction``: two of them turned the same way sit near each other."""
    other = direction - (direction @ reference) * reference
    other /= np.linalg.norm(other)
    cos = 1.0 - distance
    return (cos * reference + np.sqrt(1 - cos**2) * other).astype(np.float32)


def persons(*vectors: np.ndarray) -> list[Person]:
    """One person per vector, ``P0``, ``P1``...: each vector their one photo."""
    return [Person(f"P{i}", v[None]) for i, v in enumerate(vectors)]
