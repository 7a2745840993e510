"""Reference photos: one clear face each, turned into descriptors of named persons.

A photo with no face, or with several faces of similar size, is refused with a message
naming the person: guessing which face was meant would search for the wrong person.

Several photos of one person are all used, plus the mean of their descriptors (measured on
the calibration bench: a degraded photo of Obama sat nearer to the mean of his other two
than to the nearer of them, median 0.485 against 0.508, with Biden no nearer; a mirrored copy
of each photo added nothing on the corridor's faces and brought strangers nearer, so none is
made). A photo that adds nothing (nearly the same picture as another) or that disagrees
with the person's other photos (looks like someone else) is reported in ``Person.notes``; with
three photos or more, one that disagrees with all the others while they agree is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.reid.engine.decode import load_image
from tools.reid.engine.detect import Detection, DetectorName, get_detector, photo_min_face
from tools.reid.engine.embed import DescriptorName, get_descriptor
from tools.reid.engine.geometry import area
from tools.reid.errors import MediaError, ReferencePhotoError
from tools.reid.schemas import MAX_PERSONS

DOMINANCE = 2.0
"""The chosen face must be this many times larger than any other clear face."""
CLEAR_SCORE_RATIO = 0.5
"""A rival face counts only if its detector score is at least this share of the best one."""
MIN_FACE_PX = 40
SAME_PICTURE = 0.05
"""Two photos of a person this close are nearly the same picture: the second adds nothing."""
DISAGREES = 0.6
"""A photo this far from every other photo of the person looks like someone else (SFace: 520
public photo pairs of the same person all sit within 0.531, different people from 0.588)."""


@dataclass(frozen=True)
class Person:
    name: str
    descriptors: np.ndarray
    """(n, 128) float32: each photo used, and their mean when there are several."""
    notes: tuple[str, ...] = ()
    """What the user should know about the photos: one that adds nothing or disagrees."""


def load_persons(
    persons: Mapping[str, Sequence[Path | bytes]], detector: DetectorName, descriptor: DescriptorName, max_pixels: int
) -> list[Person]:
    """Descriptors of every named person, in the order given.

    Raises:
        ReferencePhotoError: a photo is not an image, shows no face or several faces.
        InvalidInput: more than five persons, or a person without photos.
    """
    if not persons:
        raise ReferencePhotoError("(nobody)", "no person was given. Name at least one person with a photo.")
    if len(persons) > MAX_PERSONS:
        raise ReferencePhotoError(
            ", ".join(persons), f"{len(persons)} persons were given; at most {MAX_PERSONS} can be searched at once."
        )
    loaded = []
    for name, photos in persons.items():
        if not photos:
            raise ReferencePhotoError(name, "no photo was given. Add a photo that shows their face.")
        vectors = np.stack([_descriptor(name, photo, detector, descriptor, max_pixels) for photo in photos])
        loaded.append(_person(name, vectors, descriptor))
    return loaded


def _person(name: str, vectors: np.ndarray, descriptor: DescriptorName) -> Person:
    """The person's references from the descriptors of their photos, with notes on the photos."""
    if len(vectors) == 1:
        return Person(name, vectors)
    distances = get_descriptor(descriptor).distances(vectors, vectors)
    np.fill_diagonal(distances, np.inf)
    notes, used = [], list(range(len(vectors)))
    for i in range(len(vectors)):
        twin = int(np.argmin(distances[i, :i])) if i else None
        if twin is not None and distances[i, twin] < SAME_PICTURE:
            used.remove(i)
            notes.append(f"photo {i + 1} of {name} adds nothing: it is nearly the same picture as photo {twin + 1}.")
    apart = {i: min((distances[i, j] for j in used if j != i), default=0.0) for i in used}
    if len(used) >= 3:
        odd = [i for i in used if apart[i] > DISAGREES]
        if len(odd) == 1 and max(apart[i] for i in used if i != odd[0]) <= DISAGREES:
            used.remove(odd[0])
            notes.append(
                f"photo {odd[0] + 1} of {name} was not used: it looks like a different person from the "
                f"other photos (distance {apart[odd[0]]:.2f}). Check that it shows {name}."
            )
    elif len(used) == 2 and apart[used[0]] > DISAGREES:
        notes.append(
            f"the photos of {name} look like different people (distance {apart[used[0]]:.2f}); both were used. "
            f"Check that each shows {name}."
        )
    chosen = vectors[used]
    if len(chosen) == 1:
        return Person(name, chosen, tuple(notes))
    mean = chosen.mean(axis=0)
    if descriptor == "sface":  # cosine distance: compare directions
        mean = mean / max(float(np.linalg.norm(mean)), 1e-6)
    return Person(name, np.vstack([chosen, mean[None].astype(np.float32)]), tuple(notes))


def _descriptor(
    name: str, photo: Path | bytes, detector: DetectorName, descriptor: DescriptorName, max_pixels: int
) -> np.ndarray:
    try:
        rgb = load_image(photo, max_pixels)
    except MediaError as exc:
        raise ReferencePhotoError(name, f"{exc}") from exc
    face = _the_face(name, rgb, get_detector(detector).detect(rgb, photo_min_face(rgb.shape[0])))
    return get_descriptor(descriptor).describe(rgb, [face])[0]


def largest_and_rivals(faces: list[Detection]) -> tuple[Detection, list[Detection]]:
    """The largest of (at least one) faces, and the clear faces of similar size beside it: with
    any rival, which face the photo means is a guess."""
    largest = max(faces, key=lambda d: area(d.box))
    best_score = max(d.score for d in faces)
    rivals = [
        d
        for d in faces
        if d is not largest
        and area(d.box) * DOMINANCE > area(largest.box)
        and d.score >= best_score * CLEAR_SCORE_RATIO
    ]
    return largest, rivals


def _the_face(name: str, rgb: np.ndarray, faces: list[Detection]) -> Detection:
    if not faces:
        raise ReferencePhotoError(
            name,
            "no face was found. Send a clear, front-facing photo where the face is at least "
            f"{MIN_FACE_PX} pixels wide.",
        )
    largest, rivals = largest_and_rivals(faces)
    if rivals:
        raise ReferencePhotoError(
            name, f"{len(rivals) + 1} faces of similar size were found. Crop the photo to {name} alone."
        )
    if largest.box[2] - largest.box[0] < MIN_FACE_PX:
        raise ReferencePhotoError(
            name, f"the face is only {largest.box[2] - largest.box[0]} pixels wide. Send a closer photo."
        )
    return largest
