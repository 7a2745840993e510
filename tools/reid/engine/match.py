"""Deciding who each track is, and turning tracks into appearances.

A track's distance to a person is the median, over the track's described faces, of the
distance to that person's nearest reference photo: one blurred or turned frame cannot
produce a false hit, and a track keeps its name while the face turns.

A track is a person only when that median is within the tolerance, clearly nearer to them
than to anyone else (``Scale.margin``), and, for a track seen only once in a video, within a
stricter tolerance (``Scale.lone_strictness``: no other frame corroborates it). Otherwise it
stays unknown.

Confidence maps the median distance ``d`` through a logistic centred on the tolerance:
``1 / (1 + exp((d - tolerance) / spread))`` with the descriptor's ``Scale.spread``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.nearest import References
from tools.reid.engine.references import Person
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import Appearance, Keyframe, PersonResult


@dataclass
class Identified:
    track: Track
    distance: float
    best: Sighting
    """The described sighting nearest to the person: the keyframe."""


def confidence(distance: float, tolerance: float, spread: float) -> float:
    return round(1.0 / (1.0 + math.exp((distance - tolerance) / spread)), 3)


def identify(
    tracks: list[Track], persons: list[Person], tolerance: float, descriptor: Descriptor, *, video: bool
) -> dict[str, list[Identified]]:
    """Tracks per person name; a person is never given to two faces of one frame."""
    candidates: list[tuple[float, int, int, Sighting]] = []
    nearest = References(persons).nearest_each([track.descriptors() for track in tracks], descriptor)
    for t, track in enumerate(tracks):
        choice = _choose(track, nearest[t], tolerance, descriptor, video=video)
        if choice:
            candidates.append((choice[1], t, choice[0], choice[2]))
    found: dict[str, list[Identified]] = {p.name: [] for p in persons}
    for distance, t, p, best in sorted(candidates, key=lambda c: c[0]):
        mine = found[persons[p].name]
        if any(tracks[t].indices() & other.track.indices() for other in mine):
            continue
        mine.append(Identified(tracks[t], distance, best))
    return found


def _choose(
    track: Track, per_person: np.ndarray, tolerance: float, descriptor: Descriptor, *, video: bool
) -> tuple[int, float, Sighting] | None:
    """(person index, median distance, best sighting) when the track clearly is someone;
    ``per_person`` holds its described faces' distances to each person's nearest reference."""
    described = track.described()
    if not described:
        return None
    medians = np.median(per_person, axis=0)
    order = np.argsort(medians)
    first = int(order[0])
    scale = descriptor.scale
    limit = tolerance - (scale.lone_strictness if video and len(track.sightings) == 1 else 0.0)
    if medians[first] > limit:
        return None
    if len(order) > 1 and medians[order[1]] - medians[first] < scale.margin:
        return None
    return first, float(medians[first]), described[int(np.argmin(per_person[:, first]))]


def person_result(
    name: str, identified: list[Identified], tolerance: float, spread: float, gap_s: float
) -> PersonResult:
    """Appearances of one person: their tracks, with gaps up to ``gap_s`` merged."""
    appearances: list[Appearance] = []
    best_distance = math.inf
    for item in sorted(identified, key=lambda i: i.track.start):
        candidate = _appearance(item, tolerance, spread)
        if appearances and item.track.start - appearances[-1].end <= gap_s:
            last = appearances[-1]
            keep_new_frame = item.distance < best_distance
            appearances[-1] = Appearance(
                start=last.start,
                end=max(last.end, candidate.end),
                confidence=max(last.confidence, candidate.confidence),
                keyframe=candidate.keyframe if keep_new_frame else last.keyframe,
            )
            best_distance = min(best_distance, item.distance)
        else:
            appearances.append(candidate)
            best_distance = item.distance
    if not appearances:
        return PersonResult(name=name, found=False, confidence=0.0)
    return PersonResult(
        name=name,
        found=True,
        confidence=max(a.confidence for a in appearances),
        first_seen_s=appearances[0].start,
        last_seen_s=max(a.end for a in appearances),
        total_s=round(sum(a.end - a.start for a in appearances), 3),
        appearances=appearances,
    )


def _appearance(item: Identified, tolerance: float, spread: float) -> Appearance:
    return Appearance(
        start=item.track.start,
        end=item.track.end,
        confidence=confidence(item.distance, tolerance, spread),
        keyframe=Keyframe(time=item.best.time, box=item.best.face.box),
    )
