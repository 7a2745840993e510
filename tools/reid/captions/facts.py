"""The findings as the caption model reads them: compact, structured, in the units it should write.

Times are given twice, as seconds and as ``m:ss`` (how the caption should state them), so the
model copies a time instead of computing one. Only what the engine measured is here; what the
model may add from the pictures is what people do and where, never who they are.
"""

from __future__ import annotations

from typing import Any

from tools.reid.schemas import PersonResult, ReIDResult
from tools.reid.wording import clock


def findings(result: ReIDResult) -> dict[str, Any]:
    """The result's facts as JSON-ready data (see the module docstring)."""
    media = result.media
    facts: dict[str, Any] = {
        "media": {"kind": media.kind, "width": media.width, "height": media.height}
        | (
            {"duration_s": round(media.duration_s, 1), "duration": clock(media.duration_s)}
            if media.kind == "video"
            else {}
        ),
        "persons": [_person(p, media.kind == "video") for p in result.persons],
    }
    if media.kind == "video":
        facts["together"] = _together(result.found())
    facts["unknown_faces"] = result.unknown_faces
    unknown = unknown_people(result)
    if unknown:
        facts["unknown_people"] = unknown
    return facts


def _person(person: PersonResult, video: bool) -> dict[str, Any]:
    if not person.found:
        return {"name": person.name, "found": False}
    facts: dict[str, Any] = {"name": person.name, "found": True, "confidence": round(person.confidence, 2)}
    if video:
        facts |= {
            "on_screen_s": round(person.total_s, 1),
            "appearances": [_span(a.start, a.end) | {"confidence": round(a.confidence, 2)} for a in person.appearances],
        }
    return facts


def _span(start: float, end: float) -> dict[str, Any]:
    return {"start_s": round(start, 1), "end_s": round(end, 1), "from": clock(start), "to": clock(end)}


def _together(found: list[PersonResult]) -> list[dict[str, Any]]:
    return [
        {"persons": [a.name, b.name]} | _span(start, end)
        for i, a in enumerate(found)
        for b in found[i + 1 :]
        for start, end in a.together_with(b)
    ]


def unknown_people(result: ReIDResult) -> list[dict[str, Any]]:
    """The people nobody asked for whom the result groups, by the name someone gave them or their
    label (Person 1, ...), with the spans they are on screen; never their face descriptors."""
    return [
        {
            "label": person.shown_as,
            "on_screen_s": round(person.total_s, 1),
            "appearances": [_span(a.start, a.end) for a in person.appearances],
        }
        for person in result.unknown_people
    ]
