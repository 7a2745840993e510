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


def test_a_rival_already_chained_to_the_candidate_is_no_rival() -> None:
    """The corridor's Atinkum: his far track 0.55 from his near track and 0.59 from the moment
    he passes the camera (not singled out between them by the margin), those two 0.50 apart:
    weighed nearest first, the near track and the pass are one chain, and the far track joins it."""
    far_face = unit(1)
    near_face = towards(far_face, unit(2), 0.55)
    passing_face = third(far_face, near_face, to_first=0.59, to_second=0.50, seed=3)
    far = track(range(0, 4), [far_face] * 4, POOR, (300, 100, 350, 160))
    near = track(range(7, 11), [near_face] * 4, GOOD, (290, 120, 400, 250))
    passing = track(range(11, 12), [passing_face], GOOD, (330, 110, 470, 280))
    assert abs(nearest(far, near) - 0.55) < 1e-4 and abs(nearest(far, passing) - 0.59) < 1e-4
    assert nearest(far, passing) - nearest(far, near) < SFACE.scale.margin
    assert chains([far, near, passing], SFACE) == [[far, near, passing]]


def third(first: np.ndarray, second: np.ndarray, *, to_first: float, to_second: float, seed: int) -> np.ndarray:
    """A unit vector at these cosine distances from two unit vectors."""
    e2 = second - (second @ first) * first
    e2 /= np.linalg.norm(e2)
    e3 = unit(seed) - (unit(seed) @ first) * first - (unit(seed) @ e2) * e2
    e3 /= np.linalg.norm(e3)
    x = 1.0 - to_first
    y = (1.0 - to_second - x * float(second @ first)) / float(second @ e2)
    return (x * first + y * e2 + np.sqrt(1 - x**2 - y**2) * e3).astype(np.float32)


def test_two_people_as_far_apart_as_the_corridors_nearest_two_are_not_joined() -> None:
    """Freda's track and Atinkum's pass, the nearest two people's tracks of one shot on the
    bench, sat 0.61 apart: beyond the rejoin limit, however alone they are."""
    first = unit(1)
    second = towards(first, unit(2), 0.61)
    earlier = track(range(0, 4), [first] * 4, GOOD, (300, 100, 400, 230))
    later = track(range(7, 9), [second] * 2, GOOD, (310, 110, 410, 240))
    assert chains([earlier, later], SFACE) == [[earlier], [later]]
