"""A tenant's gallery: enrol people once, then search for them by name.

`Gallery` is the file; `Gallery.tenant(name)` the one tenant's view every surface works
through (a Slack workspace, a service API key, the CLI's ``local``). Nothing in a tenant's
view reads or changes another tenant's rows: asking for another tenant's person is asking
for a name nobody here enrolled.

Enrolment is all or nothing: every photo is checked (`checks.check_photo`), a duplicate or a
photo far from the person's others is refused with its reason, and nothing is stored unless
every photo passes. A removal deletes the person's faces and thumbnails and, through the
result keepers registered with `Gallery.keep_results`, the stored results that showed them.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.models import MODEL_SHA256, SFACE_FILE
from tools.reid.engine.references import Person
from tools.reid.errors import InvalidInput
from tools.reid.gallery.checks import CheckedFace, PhotoRefused, check_photo, is_frontal
from tools.reid.gallery.store import Deleted, FaceRow, GalleryStore, NewFace, PersonRow
from tools.reid.schemas import DescriptorName, PersonName

Surface = Literal["cli", "service", "slack", "langchain", "python"]
Forget = Callable[[list[str]], int]
"""Deletes stored results by their refs; returns how many it deleted."""

DUPLICATE_DISTANCE = {"sface": 0.03, "dlib": 0.05}
"""Embeddings this close come from the same picture (a re-saved or resized copy)."""
SAME_PERSON_PHOTOS: dict[DescriptorName, float] = {"sface": 0.6, "dlib": 0.6}
"""Two photos of one person usually sit within this of each other: sharp photos, unlike a face
in footage, so dlib's is not its search tolerance, which footage keeps at 0.42 (``TOLERANCES``)."""
SUGGESTIONS = 3
_NAME = TypeAdapter(PersonName)


class NotEnrolled(InvalidInput):
    """A name nobody in this tenant's gallery has; the message suggests close names."""


class NameTaken(InvalidInput):
    """Enrolling a name that is already enrolled."""


class EmptyGallery(InvalidInput):
    """A search for everyone enrolled, with nobody enrolled."""


class ReEnrolNeeded(InvalidInput):
    """The person's faces were described by another descriptor or model than the search uses."""


class EnrolmentRefused(InvalidInput):
    """At least one photo was refused; nothing was stored. ``refusals`` lists every photo's reason."""

    def __init__(self, name: str, refusals: Sequence[PhotoRefused]) -> None:
        self.refusals = list(refusals)
        reasons = "\n".join(f"- {r.photo}: {r.reason}" for r in refusals)
        super().__init__(f"{name} was not enrolled; nothing was stored.\n{reasons}")


@dataclass(frozen=True)
class Asker:
    """Who asks, from where, in which tenant: what the audit log records."""

    tenant: str
    actor: str
    surface: Surface


@dataclass(frozen=True)
class EmbeddedFace:
    """A face already described (an unknown face of an answer): its embedding and thumbnail."""

    embedding: np.ndarray
    thumbnail: bytes
    yaw_deg: float | None = None


@dataclass(frozen=True)
class Enrolled:
    """An enrolled person as the engine searches for them."""

    person_id: str
    person: Person


class EnrolledPerson(BaseModel):
    """An enrolled person as surfaces show them (no embeddings, no thumbnails)."""

    name: str
    enrolled_by: str
    enrolled_at: datetime
    consent: str
    faces: int
    descriptor: str
    frontal: int = Field(description="Faces turned at most 15° from the camera.")
    turned: int = Field(description="Three-quarter faces (15-45°).")
    coverage: str = Field(description="What the photos cover, and what to add.")


class Enrolment(BaseModel):
    """The answer to an enrolment: who, how many faces were added, and what to add next."""

    person: EnrolledPerson
    added: int

    def text(self) -> str:
        p = self.person
        return (
            f"Enrolled {p.name}: {self.added} photo{'s' * (self.added != 1)} added, {p.faces} in all. "
            f"{p.coverage} Consent: {p.consent!r} (recorded by {p.enrolled_by})."
        )


class Removal(BaseModel):
    """What a removal deleted."""

    name: str
    faces: int = Field(description="Embeddings deleted.")
    thumbnails: int
    results: dict[str, int] = Field(description="Stored results (with their keyframes and timelines) deleted, by kind.")

    def text(self) -> str:
        stored = sum(self.results.values())
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.results.items() if count)
        return (
            f"Removed {self.name}: {self.faces} face embeddings and {self.thumbnails} thumbnails deleted, and "
            f"{stored} stored result{'s' * (stored != 1)} that showed them{f' ({kinds})' if kinds else ''}."
        )


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    surface: str
    action: str = Field(description="search, enrol, add-photos, remove.")
    names: list[str] = Field(description="For whom: the people searched for, enrolled or removed.")
    media_digest: str | None = Field(None, description="SHA-256 of the media searched.")
    outcome: str


@cache
def model_digest(descriptor: DescriptorName) -> str:
    """The digest of the model behind a descriptor: faces described by another model are not comparable."""
    if descriptor == "sface":
        return MODEL_SHA256[SFACE_FILE][:16]
    return "dlib-resnet-v1"


class Gallery:
    """The gallery tables of the SQLite file at ``path``, shared by every tenant, each seeing only its own rows."""

    def __init__(self, path: Path) -> None:
        self.store = GalleryStore(path)
        self._keepers: dict[str, Forget] = {}
        self._lock = threading.Lock()

    def keep_results(self, kind: str, forget: Forget) -> None:
        """Register where results of ``kind`` are stored, so removing a person deletes theirs."""
        self._keepers[kind] = forget

    def tenant(self, tenant: str) -> TenantGallery:
        return TenantGallery(self, tenant)

    def purge(self, audit_retention_s: float) -> int:
        """Delete audit entries older than the retention, and the links to results that old
        (every surface keeps its results for less); returns the audit entries deleted."""
        return self.store.purge(time.time() - audit_retention_s)

    def close(self) -> None:
        self.store.close()


@dataclass
class TenantGallery:
    """One tenant's people."""

    gallery: Gallery
    tenant: str
    _store: GalleryStore = field(init=False)

    def __post_init__(self) -> None:
        self._store = self.gallery.store

    # --- Enrolment

    def enrol(
        self,
        name: str,
        photos: Sequence[tuple[str, Path | bytes]],
        *,
        by: str,
        consent: str,
        descriptor: DescriptorName = "sface",
        max_pixels: int = 40_000_000,
        more: bool = False,
        accept_far: bool = False,
        surface: Surface = "python",
    ) -> Enrolment:
        """Enrol ``name`` from ``photos`` ((label, path or bytes) each), or with ``more`` add
        photos to someone enrolled.

        Raises:
            NameTaken: ``name`` is enrolled already and ``more`` is not set.
            NotEnrolled: ``more`` is set and nobody is enrolled under ``name``.
            EnrolmentRefused: a photo failed a check; nothing was stored.
            ReEnrolNeeded: adding to a person enrolled with another descriptor.
            InvalidInput: no photo, an empty consent note, an unusable name.
        """
        if not photos:
            raise InvalidInput(f"no photo was given for {name}: add at least one photo that shows their face.")
        described = get_descriptor(descriptor)
        checked: list[CheckedFace] = []
        refusals: list[PhotoRefused] = []
        for label, source in photos:
            try:
                checked.append(check_photo(label, source, described, max_pixels))
            except PhotoRefused as refused:
                refusals.append(refused)
        faces = [NewFace(c.embedding, c.thumbnail, c.yaw_deg, c.digest, f"photo {c.photo}") for c in checked]
        return self._store_faces(
            name, faces, by, consent, descriptor, more, accept_far, refusals, [c.photo for c in checked], surface
        )

    def enrol_embeddings(
        self,
        name: str,
        faces: Sequence[EmbeddedFace],
        *,
        by: str,
        consent: str,
        descriptor: DescriptorName,
        source: str,
        more: bool = False,
        accept_far: bool = False,
        surface: Surface = "python",
    ) -> Enrolment:
        """Enrol faces that were described already (an unknown person of an answer, named by
        a user); ``source`` says where they came from (e.g. "unknown person 2 of request 1f3a").
        The same checks of duplicates and distance apply; the photo checks were the detector's."""
        if not faces:
            raise InvalidInput(f"no face was given for {name}: there is nothing to enrol.")
        new = [
            NewFace(f.embedding, f.thumbnail, f.yaw_deg, f"embedding:{_embedding_digest(f.embedding)}", source)
            for f in faces
        ]
        labels = [f"{source} face {n + 1}" for n in range(len(faces))]
        return self._store_faces(name, new, by, consent, descriptor, more, accept_far, [], labels, surface)

    def _store_faces(
        self,
        name: str,
        faces: list[NewFace],
        by: str,
        consent: str,
        descriptor: DescriptorName,
        more: bool,
        accept_far: bool,
        refusals: list[PhotoRefused],
        labels: list[str],
        surface: Surface,
    ) -> Enrolment:
        name = _valid_name(name)
        with self.gallery._lock:  # one enrolment at a time: the name check and the insert are one step
            existing = self._store.person(self.tenant, name)
            if existing and not more:
                raise NameTaken(
                    f"{existing.name} is already enrolled (by {existing.enrolled_by}, "
                    f"{_day(existing.enrolled_at)}). To add photos to them, add them as more photos "
                    "(reid people add NAME PHOTO... --more); to enrol someone else, give another name."
                )
            if more and not existing:
                raise self._unknown(name)
            if not existing and not consent.strip():
                raise InvalidInput(
                    f"no consent note was given for {name}: say how they agreed to be enrolled "
                    "(e.g. 'signed visitor form 2026-11-30'). It is kept with the enrolment."
                )
            before = self._store.faces(self.tenant, [existing.person_id]) if existing else []
            if existing:
                self._same_descriptor(existing.name, before, descriptor)
            refusals += _duplicates_and_strangers(name, before, faces, labels, descriptor, accept_far)
            refusals += self._enrolled_as_someone_else(name, faces, labels, descriptor)
            if refusals:
                raise EnrolmentRefused(
                    name, sorted(refusals, key=lambda r: labels.index(r.photo) if r.photo in labels else -1)
                )
            digest = model_digest(descriptor)
            if existing:
                self._store.add_faces(self.tenant, existing.person_id, by, descriptor, digest, faces)
                person_id = existing.person_id
            else:
                person_id = self._store.add_person(self.tenant, name, by, consent.strip(), descriptor, digest, faces)
        self.record(Asker(self.tenant, by, surface), "add-photos" if existing else "enrol", [name], None, "done")
        return Enrolment(person=self._described(self._row(person_id)), added=len(faces))

    # --- Reading

    def people(self) -> list[EnrolledPerson]:
        faces = self._faces_by_person()
        return [self._described(row, faces.get(row.person_id, [])) for row in self._store.people(self.tenant)]

    def show(self, name: str) -> EnrolledPerson:
        """Raises: NotEnrolled (with close names)."""
        return self._described(self._known(name))

    def thumbnails(self, name: str) -> list[bytes]:
        """The person's face thumbnails (JPEG), oldest first, for review."""
        return self._store.thumbnails(self.tenant, self._known(name).person_id)

    def names(self) -> list[str]:
        return [row.name for row in self._store.people(self.tenant)]

    # --- Searching

    def resolve(self, names: Sequence[str], descriptor: DescriptorName) -> list[Enrolled]:
        """The named people, ready for the engine.

        Raises:
            NotEnrolled: a name nobody here enrolled (close names suggested).
            ReEnrolNeeded: a person's faces were described by another descriptor or model.
        """
        rows = [self._known(name) for name in dict.fromkeys(names)]
        faces = self._faces_by_person([row.person_id for row in rows])
        enrolled = []
        for row in rows:
            self._same_descriptor(row.name, faces.get(row.person_id, []), descriptor)
            enrolled.append(_enrolled(row, faces.get(row.person_id, [])))
        return enrolled

    def everyone(self, descriptor: DescriptorName) -> tuple[list[Enrolled], list[str]]:
        """Everyone enrolled with ``descriptor``'s model, and the names of those enrolled with
        another (to be enrolled again; they are not searched, and the answer says so).

        Raises:
            EmptyGallery: nobody is enrolled here.
        """
        rows = self._store.people(self.tenant)
        if not rows:
            raise EmptyGallery(
                "nobody is enrolled in this gallery yet, so there is no one to search for. Enrol people first "
                "(reid people add NAME PHOTO..., /reid remember in Slack, POST /v1/people), or name people with photos."
            )
        faces = self._faces_by_person()
        usable, stale = [], []
        for row in rows:
            mine = faces.get(row.person_id, [])
            if mine and all(f.descriptor == descriptor and f.model_digest == model_digest(descriptor) for f in mine):
                usable.append(_enrolled(row, mine))
            else:
                stale.append(row.name)
        if not usable:
            raise ReEnrolNeeded(
                f"everyone here was enrolled with another descriptor than {descriptor}: enrol them again with "
                f"{descriptor}, or search with the descriptor they were enrolled with."
            )
        return usable, stale

    def still_enrolled(self, person_ids: Sequence[str]) -> set[str]:
        return self._store.existing(self.tenant, person_ids)

    def link(self, names: Sequence[str], kind: str, ref: str) -> None:
        """Note that the stored result ``ref`` (of ``kind``) shows these people; names nobody
        here enrolled are skipped (a one-off search by photo)."""
        ids = [row.person_id for name in names if (row := self._store.person(self.tenant, name))]
        if ids:
            self._store.link(self.tenant, ids, kind, ref)

    # --- Removal and audit

    def remove(self, name: str, *, by: str, surface: Surface = "python") -> Removal:
        """Delete the person, their faces and thumbnails, and the stored results that showed them.

        A search already running keeps the copy it loaded, finishes, and its answer drops the
        person and says they were removed meanwhile.

        Raises:
            NotEnrolled: nobody here is enrolled under ``name``.
        """
        row = self._known(name)
        deleted: Deleted = self._store.delete_person(self.tenant, row.person_id)
        results = {
            kind: self.gallery._keepers[kind](refs)
            for kind, refs in deleted.links.items()
            if kind in self.gallery._keepers
        }
        self.record(Asker(self.tenant, by, surface), "remove", [row.name], None, "done")
        return Removal(name=row.name, faces=deleted.faces, thumbnails=deleted.thumbnails, results=results)

    def record(self, asker: Asker, action: str, names: Sequence[str], media_digest: str | None, outcome: str) -> None:
        """One entry of the audit log: who, on which surface, did what for whom, in which media."""
        self._store.audit(self.tenant, asker.actor, asker.surface, action, names, media_digest, outcome)

    def audit_log(self, since_s: float = 30 * 86400.0, limit: int = 200) -> list[AuditEntry]:
        """The tenant's audit entries of the last ``since_s`` seconds, newest first."""
        rows = self._store.audit_log(self.tenant, time.time() - since_s, limit)
        return [
            AuditEntry(
                at=datetime.fromtimestamp(r.at, UTC),
                actor=r.actor,
                surface=r.surface,
                action=r.action,
                names=r.names,
                media_digest=r.media_digest,
                outcome=r.outcome,
            )
            for r in rows
        ]

    # --- Helpers

    def _known(self, name: str) -> PersonRow:
        row = self._store.person(self.tenant, name)
        if row is None:
            raise self._unknown(name)
        return row

    def _unknown(self, name: str) -> NotEnrolled:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=SUGGESTIONS, cutoff=0.6) or difflib.get_close_matches(
            name.casefold(), [n.casefold() for n in names], n=SUGGESTIONS, cutoff=0.6
        )
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return NotEnrolled(
            f"nobody called {name!r} is enrolled in this gallery.{hint} List who is enrolled (reid people list, "
            "/reid people, GET /v1/people), or enrol them first."
        )

    def _row(self, person_id: str) -> PersonRow:
        return next(row for row in self._store.people(self.tenant) if row.person_id == person_id)

    def _faces_by_person(self, person_ids: Sequence[str] | None = None) -> dict[str, list[FaceRow]]:
        grouped: dict[str, list[FaceRow]] = {}
        for face in self._store.faces(self.tenant, person_ids):
            grouped.setdefault(face.person_id, []).append(face)
        return grouped

    def _described(self, row: PersonRow, faces: list[FaceRow] | None = None) -> EnrolledPerson:
        faces = faces if faces is not None else self._store.faces(self.tenant, [row.person_id])
        frontal = sum(1 for f in faces if is_frontal(f.yaw_deg))
        turned = sum(1 for f in faces if f.yaw_deg is not None and not is_frontal(f.yaw_deg))
        return EnrolledPerson(
            name=row.name,
            enrolled_by=row.enrolled_by,
            enrolled_at=datetime.fromtimestamp(row.enrolled_at, UTC),
            consent=row.consent,
            faces=len(faces),
            descriptor=faces[0].descriptor if faces else "-",
            frontal=frontal,
            turned=turned,
            coverage=coverage_note(len(faces), frontal, turned),
        )

    def _enrolled_as_someone_else(
        self, name: str, faces: list[NewFace], labels: list[str], descriptor: DescriptorName
    ) -> list[PhotoRefused]:
        """Refusals for faces that are (nearly) the very picture another person was enrolled with."""
        others = [f for f in self._store.faces(self.tenant) if f.descriptor == descriptor]
        rows = {row.person_id: row.name for row in self._store.people(self.tenant)}
        others = [f for f in others if rows.get(f.person_id, name).casefold() != name.casefold()]
        if not others:
            return []
        matrix = np.stack([f.embedding for f in others])
        refusals = []
        for label, face in zip(labels, faces, strict=True):
            distances = get_descriptor(descriptor).distances(face.embedding[None], matrix)[0]
            nearest = int(np.argmin(distances))
            if distances[nearest] < DUPLICATE_DISTANCE[descriptor] or others[nearest].photo_digest == face.photo_digest:
                refusals.append(
                    PhotoRefused(
                        label,
                        f"this very photo is enrolled already, as {rows[others[nearest].person_id]}. "
                        f"Send a photo of {name} only.",
                    )
                )
        return refusals

    @staticmethod
    def _same_descriptor(name: str, faces: list[FaceRow], descriptor: DescriptorName) -> None:
        digest = model_digest(descriptor)
        other = next((f for f in faces if f.descriptor != descriptor or f.model_digest != digest), None)
        if other is not None:
            raise ReEnrolNeeded(
                f"{name} was enrolled with the {other.descriptor} descriptor (model {other.model_digest[:12]}), "
                f"and this uses {descriptor} (model {digest[:12]}): their faces cannot be compared. Enrol {name} "
                f"again (remove, then add photos), or use the {other.descriptor} descriptor."
            )


def coverage_note(faces: int, frontal: int, turned: int) -> str:
    """What the photos cover and what would help most next."""
    if faces == 1:
        return "Only one photo: add two or three more, from other days and angles."
    if frontal and not turned:
        return "Only frontal photos: add a three-quarter one."
    if turned and not frontal:
        return "Only turned photos: add a frontal one."
    if faces < 3:
        return "Frontal and turned photos: a third photo from another day would help."
    return "Frontal and turned photos: good coverage."


def _valid_name(name: str) -> str:
    try:
        return _NAME.validate_python(name)
    except ValidationError as exc:
        raise InvalidInput(f"the name {name[:40]!r} cannot be used: give 1 to 80 printable characters.") from exc


def _enrolled(row: PersonRow, faces: list[FaceRow]) -> Enrolled:
    return Enrolled(row.person_id, Person(row.name, np.stack([f.embedding for f in faces]).astype(np.float32)))


def _duplicates_and_strangers(
    name: str,
    before: list[FaceRow],
    faces: list[NewFace],
    labels: list[str],
    descriptor: DescriptorName,
    accept_far: bool,
) -> list[PhotoRefused]:
    """Refusals for new faces that repeat a face, or sit far from the person's other faces."""
    distances = get_descriptor(descriptor)
    tolerance = SAME_PERSON_PHOTOS[descriptor]
    known = [(f.photo_digest, f.embedding) for f in before]
    refusals = []
    for label, face in zip(labels, faces, strict=True):
        if known:
            nearest = distances.distances(face.embedding[None], np.stack([e for _, e in known]))[0]
            if any(d == face.photo_digest for d, _ in known) or float(nearest.min()) < DUPLICATE_DISTANCE[descriptor]:
                refusals.append(
                    PhotoRefused(label, f"it is a duplicate of a photo of {name} already given. Send another photo.")
                )
                continue
            if float(nearest.min()) > tolerance and not accept_far:
                refusals.append(
                    PhotoRefused(
                        label,
                        f"it sits far from {name}'s other photos (distance {float(nearest.min()):.2f}; the same person "
                        f"is usually within {tolerance:.2f}). Is it someone else? If it is {name}, send it again and "
                        "confirm it (--accept-far).",
                    )
                )
                continue
        known.append((face.photo_digest, face.embedding))
    return refusals


def _embedding_digest(embedding: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.asarray(embedding, np.float32).tobytes()).hexdigest()


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")
