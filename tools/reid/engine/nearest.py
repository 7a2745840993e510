"""Each face's distance to each person's nearest reference, in one matrix product.

A person has any number of reference descriptors (a request's few photos, or a gallery's
enrolled faces); `References` stacks everyone's into one matrix once, so scoring a track
against 1,000 enrolled people is one ``faces @ references.T`` and a grouped minimum, not a
loop over people.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.references import Person


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
