"""Results made by hand, for the tests of what is drawn or written from a result alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tools.reid.schemas import Appearance, Box, Keyframe, MediaInfo, Moment, PersonResult, ReIDResult, Stats


def person(name: str, spans: Sequence[tuple[float, float]], box: Box = (0, 0, 10, 10)) -> PersonResult:
    """A person found over ``spans`` (s), keyframe at the first span's start; not found without spans."""
    if not spans:
        return PersonResult(name=name, found=False, confidence=0.0)
    appearances = [Appearance(start=s, end=e, confidence=0.9, keyframe=Keyframe(time=s, box=box)) for s, e in spans]
    return PersonResult(
        name=name,
        found=True,
        confidence=0.9,
        first_seen_s=spans[0][0],
        last_seen_s=spans[-1][1],
        total_s=sum(e - s for s, e in spans),
        appearances=appearances,
    )


def result_of(
    persons: list[PersonResult], *, kind: Literal["video", "image"] = "video", moments: list[Moment] | None = None
) -> ReIDResult:
    media = MediaInfo(kind=kind, duration_s=60.0 if kind == "video" else 0.0, width=640, height=360)
    return ReIDResult(
        media=media,
        persons=persons,
        unknown_faces=0,
        text="",
        stats=Stats(frames_decoded=1, frames_analysed=1, faces_detected=1, wall_s=0.1),
        moments=moments or [],
    )
