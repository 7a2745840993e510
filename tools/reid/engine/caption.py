"""The plain-English answer: who appears, when, in what order, together, and who not.

Built from the findings alone (no language model), so it never claims more than the
engine measured.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.reid.engine.geometry import centre_x
from tools.reid.schemas import MediaInfo, PersonResult, UnknownPerson
from tools.reid.wording import clock, count, duration, names, place, span

MAX_UNKNOWN_NAMED = 3
"""Unknown people the caption names; the rest are counted."""


def caption(
    media: MediaInfo, persons: list[PersonResult], unknown_faces: int, unknown_people: Sequence[UnknownPerson] = ()
) -> str:
    found = [p for p in persons if p.found]
    missing = [p.name for p in persons if not p.found]
    if not found:
        where = "in the image" if media.kind == "image" else f"in the {clock(media.duration_s)} video"
        parts = [f"{_nobody(missing)} found {where}."]
    else:
        parts = _image_sentences(media, found) if media.kind == "image" else _video_sentences(found)
    if found and missing:
        parts.append(f"{names(missing)} {'was' if len(missing) == 1 else 'were'} not found.")
    if unknown_faces:
        verb = "was" if unknown_faces == 1 else "were"
        parts.append(f"{count(unknown_faces, 'other face')} {verb} seen but not recognised.")
    if unknown_people:
        parts.append(repeated_sentence(unknown_people))
    return " ".join(parts)


def repeated_sentence(people: Sequence[UnknownPerson]) -> str:
    """``2 other people appear repeatedly: Person 1 for 42 s and Person 2 for 15 s.``"""
    shown = [f"{p.label} for {duration(p.total_s)}" for p in people[:MAX_UNKNOWN_NAMED]]
    if len(people) > MAX_UNKNOWN_NAMED:
        shown.append(count(len(people) - MAX_UNKNOWN_NAMED, "other"))
    if len(people) == 1:
        return f"1 other person appears repeatedly: {shown[0]}."
    return f"{len(people)} other people appear repeatedly: {names(shown)}."


def _nobody(missing: list[str]) -> str:
    if len(missing) == 1:
        return f"{missing[0]} was not"
    if len(missing) == 2:
        return f"Neither {missing[0]} nor {missing[1]} was"
    return f"None of {names(missing)} was"


def _image_sentences(media: MediaInfo, found: list[PersonResult]) -> list[str]:
    ordered = sorted(found, key=lambda p: centre_x(p.appearances[0].keyframe.box))
    verb = "is" if len(ordered) == 1 else "are"
    sentences = [f"{names([p.name for p in ordered])} {verb} in the image."]
    if len(ordered) > 1 or media.width:
        sentences += [f"{p.name} is {_side(p, media.width)} ({p.confidence:.0%} confidence)." for p in ordered]
    return sentences


def _side(person: PersonResult, width: int) -> str:
    where = place(person.appearances[0].keyframe.box, width)
    return "in the centre" if where == "centre" else f"on the {where}"


def _video_sentences(found: list[PersonResult]) -> list[str]:
    ordered = sorted(found, key=lambda p: p.first_seen_s or 0.0)
    if len(ordered) == 1:
        sentences = [f"{ordered[0].name} appears in the video."]
    else:
        both = "both " if len(ordered) == 2 else "all "
        sentences = [f"{names([p.name for p in ordered])} {both}appear in the video."]
        sentences.append(_order(ordered))
    sentences += [_presence(p) for p in ordered]
    sentences += _together(ordered)
    return sentences


def _order(ordered: list[PersonResult]) -> str:
    first, *rest = ordered
    text = f"{first.name} appears first, at {clock(first.first_seen_s or 0.0)}"
    follows = ", then ".join(f"{p.name} at {clock(p.first_seen_s or 0.0)}" for p in rest)
    return f"{text}, followed by {follows}."


def _presence(person: PersonResult) -> str:
    spans = names([span(a.start, a.end) for a in person.appearances])
    return (
        f"{person.name} is on screen {spans} ({duration(person.total_s)} in all, {person.confidence:.0%} confidence)."
    )


def _together(ordered: list[PersonResult]) -> list[str]:
    sentences = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if shared := a.together_with(b):
                sentences.append(
                    f"{a.name} and {b.name} are on screen together {names([span(s, e) for s, e in shared])}."
                )
    return sentences
