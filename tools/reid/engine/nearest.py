"""Each face's distance to each person's nearest reference, in one matrix product.

A person has any number of reference descriptors (a request's few photos, or a gallery's
enrolled faces); `References` stacks everyone's into one matrix once, so scoring the tracks
against 1,000 enrolled people is a few ``faces @ references.T`` and a grouped minimum, not a
loop over people. The faces of all tracks go through in blocks of `BLOCK_FACES`: one small
product per track costs more in BLAS's start-up than in arithmetic (measured 10-70x on a busy
2-core machine, ``bench/gallery_bench.py``), and a block bounds the distance matrix's memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.references import Person

BLOCK_FACES = 256
"""Faces scored per product: 256 x 100,000 enrolled faces is a 100 MB distance block."""


class References:
    """Everyone's reference descriptors, stacked in person order."""

    def __init__(self, persons: Sequence[Person]) -> None:
        self.persons = list(persons)
        counts = [len(p.descriptors) for p in self.persons]
        self.matrix = (
            np.concatenate([p.descriptors for p in self.persons]).astype(np.float32)
            if self.persons
            else np.zeros((0, 128), np.float32)
        )
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp) if counts else np.zeros(0, np.intp)

    def nearest(self, faces: np.ndarray, descriptor: Descriptor) -> np.ndarray:
        """(len(faces), len(persons)): each face's distance to each person's nearest reference."""
        if not self.persons:
            return np.zeros((len(faces), 0), np.float32)
        return np.minimum.reduceat(descriptor.distances(faces, self.matrix), self.starts, axis=1)

    def nearest_each(self, faces: Sequence[np.ndarray], descriptor: Descriptor) -> list[np.ndarray]:
        """`nearest` for several groups of faces (each track's), computed in blocks."""
        sizes = [len(group) for group in faces]
        stacked = np.concatenate(faces) if sum(sizes) else np.zeros((0, 128), np.float32)
        blocks = [
            self.nearest(stacked[start : start + BLOCK_FACES], descriptor)
            for start in range(0, len(stacked), BLOCK_FACES)
        ]
        every = np.concatenate(blocks) if blocks else np.zeros((0, len(self.persons)), np.float32)
        return np.split(every, np.cumsum(sizes)[:-1]) if sizes else []
