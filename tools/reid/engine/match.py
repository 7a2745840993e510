"""Deciding who each track is, and turning tracks into appearances.

A track is decided from the faces that can carry a decision (``quality.Quality.is_good``: big
enough, sure detections, frontal to three-quarter), or from all its faces when none is good.
With fewer than ``MIN_GOOD_FACES`` good faces, as for a track seen only once in a video, it
must be nearer than the tolerance by ``Scale.lone_strictness``. The tracks of one person
hidden for a moment (``rejoin``) are decided as one. Its distance to a person is
the mean, over its ``BEST_FACES`` nearest such faces, of the distance to that person's
nearest reference photo: small, blurred or turned faces sit far
from everyone's photo (the calibration bench: the same person's faces under 40 px have a
median of 0.80), so they are weak evidence and never outvote the good ones.

A track is a person only when that distance is within the tolerance and clearly nearer to
them than to anyone else (``Scale.margin``, the same statistic for the next person): the guard
against strangers. Otherwise it stays unknown. The whole track is then that person's time on
screen, its turned and profile frames too; a track never crosses a shot cut.

Confidence is calibrated on the bench, not centred on the tolerance: a logistic of the
distance, ``1 / (1 + exp((d - centre) / spread))`` with the descriptor's
``Scale.confidence_centre`` and ``Scale.spread``, fitted so that among faces given 90%, about
90 in 100 are the right person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tools.reid.engine.embed import Descriptor, Scale
from tools.reid.engine.nearest import References
from tools.reid.engine.references import Person
from tools.reid.engine.rejoin import chains
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import Appearance, Keyframe, PersonResult


@dataclass
class Identified:
    track: Track
    distance: float
    best: Sighting
    """The described sighting nearest to the person: the keyframe."""
    best_distance: float = math.inf
    """``best``'s own distance to the person: of merged tracks, the nearest gives the keyframe."""


BEST_FACES = 3
"""A track's distance to a person is the mean over its nearest this many deciding faces."""
MIN_GOOD_FACES = BEST_FACES
"""A track with fewer good faces than its distance is the mean of is held to the stricter
limit: a stranger in the street had two good faces 0.66 and 0.72 from Obama's photos (a mean
of 0.69, within the loosest tolerance), 0.25 nearer than to Biden's."""


def confidence(distance: float, scale: Scale) -> float:
    """How likely a track at ``distance`` is the person (calibrated on the bench)."""
    return round(1.0 / (1.0 + math.exp((distance - scale.confidence_centre) / scale.spread)), 3)


def identify(
    tracks: list[Track], persons: list[Person], tolerance: float, descriptor: Descriptor, *, video: bool
) -> dict[str, list[Identified]]:
    """Tracks per person name; a person is never given to two faces of one frame. The tracks of
    a chain (``rejoin``: one person hidden for a moment) are decided together."""
    joined = chains(tracks, descriptor)
    whole = [Track([s for t in chain for s in t.sightings], chain[0].shot) for chain in joined]
    candidates: list[tuple[float, int, int]] = []
    nearest = References(persons).nearest_each([track.descriptors() for track in whole], descriptor)
    for c, track in enumerate(whole):
        choice = _choose(track, nearest[c], tolerance, descriptor, video=video)
        if choice:
            candidates.append((choice[1], c, choice[0]))
    found: dict[str, list[Identified]] = {p.name: [] for p in persons}
    taken: dict[str, set[int]] = {p.name: set() for p in persons}
    for distance, c, p in sorted(candidates):
        name = persons[p].name
        if whole[c].indices() & taken[name]:
            continue
        taken[name] |= whole[c].indices()
        # The chain's described faces are its tracks' in turn: each track's rows of the chain's.
        per_track = np.split(nearest[c][:, p], np.cumsum([len(t.described()) for t in joined[c]])[:-1])
        found[name] += [Identified(t, distance, *_best(t, rows)) for t, rows in zip(joined[c], per_track, strict=True)]
    return found


def _best(track: Track, distances: np.ndarray) -> tuple[Sighting, float]:
    """The track's described sighting nearest to the person (``distances``: each described
    face's), and its distance; its first sighting, at no distance known, when none is described."""
    described = track.described()
    if not described:
        return track.sightings[0], math.inf
    nearest = int(np.argmin(distances))
    return described[nearest], float(distances[nearest])


def _choose(
    track: Track, per_person: np.ndarray, tolerance: float, descriptor: Descriptor, *, video: bool
) -> tuple[int, float] | None:
    """(person index, distance) when the track clearly is someone;
    ``per_person`` holds its described faces' distances to each person's nearest reference."""
    described = track.described()
    if not described:
        return None
    good = [s.face.quality is not None and s.face.quality.is_good() for s in described]
    rows = np.flatnonzero(good) if any(good) else np.arange(len(described))
    weak = sum(good) < MIN_GOOD_FACES
    deciding = per_person[rows]
    distances = np.sort(deciding, axis=0)[:BEST_FACES].mean(axis=0)
    order = np.argsort(distances)
    first = int(order[0])
    scale = descriptor.scale
    lone = video and len(track.sightings) == 1
    limit = tolerance - (scale.lone_strictness if lone or weak else 0.0)
    if distances[first] > limit:
        return None
    if len(order) > 1 and distances[order[1]] - distances[first] < scale.margin:
        return None
    return first, float(distances[first])


def person_result(name: str, identified: list[Identified], scale: Scale, gap_s: float) -> PersonResult:
    """Appearances of one person: their tracks, with gaps up to ``gap_s`` merged."""
    appearances: list[Appearance] = []
    best_distance = math.inf
    for item in sorted(identified, key=lambda i: i.track.start):
        candidate = _appearance(item, scale)
        if appearances and item.track.start - appearances[-1].end <= gap_s:
            last = appearances[-1]
            keep_new_frame = item.best_distance < best_distance
            appearances[-1] = Appearance(
                start=last.start,
                end=max(last.end, candidate.end),
                confidence=max(last.confidence, candidate.confidence),
                keyframe=candidate.keyframe if keep_new_frame else last.keyframe,
            )
            best_distance = min(best_distance, item.best_distance)
        else:
            appearances.append(candidate)
            best_distance = item.best_distance
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


def _appearance(item: Identified, scale: Scale) -> Appearance:
    return Appearance(
        start=item.track.start,
        end=item.track.end,
        confidence=confidence(item.distance, scale),
        keyframe=Keyframe(time=item.best.time, box=item.best.face.box),
    )
