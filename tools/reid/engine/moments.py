"""The keyframe moments: the frames the keyframes show, with every face in them named or not.

A person's keyframe is the frame of their best appearance. When several persons share a
frame, or when one person's keyframe already shows another found person, one picture serves
them all: a moment is kept only when it names someone no kept moment names yet, fullest
frames first. Faces nobody matched stay in, unnamed, so a picture shows who else was there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tools.reid.engine.frames import FrameFaces
from tools.reid.engine.match import Identified
from tools.reid.schemas import Moment, MomentFace, PersonResult


def keyframe_moments(
    frames: Sequence[FrameFaces], found: Mapping[str, list[Identified]], people: Sequence[PersonResult]
) -> list[Moment]:
    """Moments at the found persons' keyframe times, in time order.

    Args:
        frames: the analysed frames with their faces.
        found: `identify`'s answer, name -> the tracks that are that person.
        people: the persons' results, whose best appearance holds each keyframe time (s).
    """
    times = {best.keyframe.time for p in people if (best := p.best_appearance()) is not None}
    named = {
        (sighting.index, sighting.face.box): name
        for name, items in found.items()
        for item in items
        for sighting in item.track.sightings
    }
    candidates = [
        Moment(
            time=frame.time,
            faces=[
                MomentFace(box=f.box, name=named.get((frame.index, f.box)))
                for f in sorted(frame.faces, key=lambda f: f.box[0])
            ],
        )
        for frame in frames
        if frame.time in times
    ]
    kept: list[Moment] = []
    shown: set[str] = set()
    for moment in sorted(candidates, key=lambda m: (-len(_names(m)), m.time)):
        if _names(moment) - shown:
            kept.append(moment)
            shown |= _names(moment)
    return sorted(kept, key=lambda m: m.time)


def _names(moment: Moment) -> set[str]:
    return {face.name for face in moment.faces if face.name is not None}
