"""A search that uses the gallery: who it resolves to before the engine runs, and what the
answer says after.

Before: enrolled names become the engine's `Person` references (unknown names and another
descriptor's faces are refused here, before any footage is read). After: a person removed
while the search ran is dropped from the answer, which says so; a search for everyone keeps
the people found (and those named), not a row for each of a thousand people not found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.reid.engine.caption import caption
from tools.reid.engine.references import Person
from tools.reid.gallery.gallery import Enrolled, TenantGallery
from tools.reid.schemas import Moment, MomentFace, PersonResult, ReIDRequest, ReIDResult

EVERYONE = "(everyone enrolled)"
"""How the audit log names a search for everyone."""


@dataclass
class GallerySearch:
    gallery: TenantGallery
    request: ReIDRequest
    enrolled: list[Enrolled]
    stale: list[str] = field(default_factory=list)
    """Enrolled with another descriptor: not searched, and the answer says so."""

    @classmethod
    def prepare(cls, gallery: TenantGallery, request: ReIDRequest) -> GallerySearch:
        """Raises: NotEnrolled, ReEnrolNeeded, EmptyGallery."""
        descriptor = request.options.descriptor
        with_photos = {p.name.casefold() for p in request.persons}
        if request.everyone_enrolled:
            everyone, stale = gallery.everyone(descriptor)
            named = gallery.resolve(request.enrolled, descriptor) if request.enrolled else []
            enrolled = {e.person_id: e for e in [*named, *everyone] if e.person.name.casefold() not in with_photos}
            return cls(gallery, request, list(enrolled.values()), stale)
        return cls(gallery, request, gallery.resolve(request.enrolled, descriptor))

    def people(self) -> list[Person]:
        return [e.person for e in self.enrolled]

    def names(self) -> list[str]:
        """For whom, as the audit log records it."""
        named = [p.name for p in self.request.persons] + list(self.request.enrolled)
        return [*named, EVERYONE] if self.request.everyone_enrolled else named

    def finish(self, result: ReIDResult) -> ReIDResult:
        """The answer with removed people dropped and, for everyone, only those found or named."""
        kept_ids = self.gallery.still_enrolled([e.person_id for e in self.enrolled])
        removed = {e.person.name for e in self.enrolled if e.person_id not in kept_ids}
        named = {p.name for p in self.request.persons} | set(self.request.enrolled)
        persons = [
            p
            for p in result.persons
            if p.name not in removed and (not self.request.everyone_enrolled or p.found or p.name in named)
        ]
        notes = []
        if self.request.everyone_enrolled:
            notes.append(f"Searched for everyone enrolled ({len(self.enrolled)} people).")
        if self.stale:
            notes.append(
                f"Not searched, enrolled with another descriptor (enrol them again): {', '.join(sorted(self.stale))}."
            )
        if removed:
            notes.append(
                f"{', '.join(sorted(removed))} {'was' if len(removed) == 1 else 'were'} removed from the gallery while "
                "this search ran: the search finished with what it had loaded, and this answer leaves them out."
            )
        text = result.text if len(persons) == len(result.persons) else _caption(result, persons)
        return result.model_copy(
            update={
                "persons": persons,
                "text": " ".join([text, *notes]),
                "moments": [_without(moment, removed) for moment in result.moments],
            }
        )


def _caption(result: ReIDResult, persons: list[PersonResult]) -> str:
    if persons:
        return caption(result.media, persons, result.unknown_faces)
    where = "in the image" if result.media.kind == "image" else "in the video"
    others = f" {result.unknown_faces} face(s) were seen but not recognised." if result.unknown_faces else ""
    return f"Nobody enrolled was found {where}.{others}"


def _without(moment: Moment, removed: set[str]) -> Moment:
    return Moment(
        time=moment.time,
        faces=[MomentFace(box=f.box, name=None if f.name in removed else f.name) for f in moment.faces],
    )
