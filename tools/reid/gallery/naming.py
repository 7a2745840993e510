"""Naming an unknown person of an answer: their grouped faces enrolled under the name a person
gave them, with the consent note, and the audit log saying who named whom.

The faces come from the result (its ``embeddings``), so no new analysis is needed. Faces that
repeat one another (a still face described twice) are kept once. A new name takes the group
as it is (the grouping already judged its faces to be one person, and the user confirms it by
naming them); a name already enrolled gets the faces added, and is refused when they sit far
from that person's other faces ("Is it someone else?").
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.unknown import embedding_vectors
from tools.reid.errors import InvalidInput
from tools.reid.gallery.gallery import DUPLICATE_DISTANCE, Asker, EmbeddedFace, Enrolment, Surface, TenantGallery
from tools.reid.schemas import DescriptorName, ReIDResult, UnknownPerson

THUMBNAIL_PX = 64


def unknown_person_of(result: ReIDResult, person_id: str) -> UnknownPerson:
    """The unknown person ``person_id`` (``person-2`` or ``Person 2``) of ``result``, with faces to enrol.

    Raises:
        InvalidInput: no such person, or their descriptors were left out of this copy of the result.
    """
    person = result.unknown_person(person_id)
    if person is None:
        known = ", ".join(p.id for p in result.unknown_people) or "none"
        raise InvalidInput(f"the result has no unknown person {person_id!r} (it has: {known}).")
    if person.embeddings is None:
        raise InvalidInput(
            f"{person.label}'s face descriptors are not in this copy of the result (shown results leave them out): "
            "use the result as the analysis saved it (reid analyze --format json)."
        )
    return person


def enrol_unknown(
    gallery: TenantGallery,
    person: UnknownPerson,
    name: str,
    *,
    by: str,
    consent: str,
    source: str,
    crop: bytes,
    surface: Surface,
) -> Enrolment:
    """Enrols ``person``'s faces as ``name`` in ``gallery``; ``crop`` (a JPEG of their face) becomes
    the thumbnail people review them by.

    Raises:
        InvalidInput: no descriptors, no consent note, a far face for a name already enrolled
            (`EnrolmentRefused`), another enrolled person's face.
    """
    if person.embeddings is None:
        raise InvalidInput(f"{person.label}'s face descriptors are not in this result: nothing to enrol.")
    descriptor = person.embeddings.descriptor
    thumbnail = _thumbnail(crop)
    faces = [EmbeddedFace(vector, thumbnail) for vector in _distinct(embedding_vectors(person.embeddings), descriptor)]
    more = any(existing.casefold() == name.strip().casefold() for existing in gallery.names())
    enrolment = gallery.enrol_embeddings(
        name,
        faces,
        by=by,
        consent=consent,
        descriptor=descriptor,
        source=source,
        more=more,
        accept_far=not more,
        surface=surface,
    )
    gallery.record(Asker(gallery.tenant, by, surface), f"named {person.label} of {source}", [name], None, "done")
    return enrolment


def _distinct(vectors: np.ndarray, descriptor: DescriptorName) -> list[np.ndarray]:
    """The vectors, without those that repeat an earlier one (the gallery refuses duplicates)."""
    scale = get_descriptor(descriptor)
    kept: list[np.ndarray] = []
    for vector in vectors:
        if not kept or float(scale.distances(vector[None], np.stack(kept)).min()) >= DUPLICATE_DISTANCE[descriptor]:
            kept.append(vector)
    return kept


def _thumbnail(crop: bytes) -> bytes:
    """A small square JPEG of the face crop, for the gallery's review."""
    try:
        with Image.open(io.BytesIO(crop)) as image:
            square = image.convert("RGB")
            side = min(square.size)
            left, top = (square.width - side) // 2, (square.height - side) // 2
            small = square.crop((left, top, left + side, top + side)).resize((THUMBNAIL_PX, THUMBNAIL_PX))
    except (OSError, ValueError) as exc:
        raise InvalidInput("the face crop given is not a readable image: give the JPEG the analysis wrote.") from exc
    out = io.BytesIO()
    small.save(out, "JPEG", quality=85)
    return out.getvalue()
