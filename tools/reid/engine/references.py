"""Reference photos: one clear face each, turned into descriptors of named persons.

A photo with no face, or with several faces of similar size, is refused with a message
naming the person: guessing which face was meant would search for the wrong person.
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


@dataclass(frozen=True)
class Person:
    name: str
    descriptors: np.ndarray
    """(n_photos, 128) float32."""


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
        descriptors = [_descriptor(name, photo, detector, descriptor, max_pixels) for photo in photos]
        loaded.append(Person(name, np.stack(descriptors)))
    return loaded


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
