"""One person's tracks of one shot, split while they were hidden, decided together (every run).

Descriptors are built at exact cosine distances (as in ``test_engine_decision``): a walker far
away (poor faces, 0.7 from his photo, as far as strangers sit) is hidden for 2 s and comes back
near and clear (good faces, 0.3 from it); his nearest far and near faces are much nearer to
each other (in the corridor, Prince's were 0.41 apart) than to anyone else.
"""

from __future__ import annotations

import numpy as np
from vectors import GOOD, POOR, at_distance, persons, towards, unit

from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import Face
from tools.reid.engine.match import identify
from tools.reid.engine.quality import Quality
from tools.reid.engine.rejoin import chains
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import TOLERANCES, Box

SFACE = get_descriptor("sface")
TOLERANCE = TOLERANCES["sface"].default
PERIOD_S = 0.5


def track(frames: range, vectors: list[np.ndarray], quality: Quality, box: Box, shot: int = 0) -> Track:
    return Track(
        [Sighting(k, k * PERIOD_S, Face(box, quality.score, v, quality)) for k, v in zip(frames, vectors, strict=True)],
        shot,
    )


def walker(photo: np.ndarray, seed: int = 50) -> tuple[Track, Track]:
    """His far track (0-1.5 s) and, after 2 s hidden, his near one (3.5-5 s) in the same place."""
    middle = at_distance(photo, 0.45, seed + 100)
    far = [at_distance(photo, 0.7, seed + i) for i in range(4)]
    far[0] = towards(photo, middle, 0.7)
    near = [at_distance(photo, 0.3, seed + 10 + i) for i in range(4)]
    near[0] = towards(photo, middle, 0.3)
    return (
        track(range(0, 4), far, POOR, (300, 100, 350, 160)),
        track(range(7, 11), near, GOOD, (290, 120, 400, 250)),
    )


def nearest(a: Track, b: Track) -> float:
    return float(SFACE.distances(a.descriptors(), b.descriptors()).min())


def test_a_walker_hidden_for_a_moment_is_found_over_both_his_tracks() -> None:
    photo, other = unit(1), unit(2)
    far, near = walker(photo)
    assert nearest(far, near) <= SFACE.scale.rejoin
    found = identify([far, near], persons(photo, other), TOLERANCE, SFACE, video=True)
    assert [item.track for item in found["P0"]] == [far, near]
    assert found["P1"] == []
    alone = identify([far], persons(photo, other), TOLERANCE, SFACE, video=True)
    assert alone["P0"] == [], "his far faces alone must not name him"


def test_the_hidden_time_is_not_claimed_and_each_track_keeps_its_keyframe() -> None:
    photo = unit(1)
    far, near = walker(photo)
    found = identify([far, near], persons(photo, unit(2)), TOLERANCE, SFACE, video=True)["P0"]
    assert [(i.track.start, i.track.end) for i in found] == [(0.0, 1.5), (3.5, 5.0)]
    assert all(i.best in i.track.sightings for i in found)


def test_tracks_of_two_shots_are_never_joined() -> None:
    far, near = walker(unit(1))
    near.shot = 1
    assert chains([far, near], SFACE) == [[far], [near]]


def test_a_face_like_two_earlier_people_joins_neither() -> None:
    """Two people seen together, then one face as like either of them: likeness cannot tell."""
    far, near = walker(unit(1))
    twin = track(range(0, 4), [v.copy() for v in far.descriptors()], POOR, (500, 100, 550, 160))
    assert chains([far, twin, near], SFACE) == [[far], [twin], [near]]


def test_a_face_reappearing_far_from_where_he_was_hidden_is_not_joined() -> None:
    far, near = walker(unit(1))
    moved = Track(
        [
            Sighting(s.index, s.time, Face((1000, 120, 1110, 250), s.face.score, s.face.descriptor, GOOD))
            for s in near.sightings
        ]
    )
    assert chains([far, moved], SFACE) == [[far], [moved]]


def test_a_track_after_too_long_hidden_is_not_joined() -> None:
    far, near = walker(unit(1))
    later = Track([Sighting(s.index + 10, s.time + 5.0, s.face) for s in near.sightings])
    assert chains([far, near], SFACE) == [[far, near]]
    assert chains([far, later], SFACE) == [[far], [later]]
