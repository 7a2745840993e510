"""Unknown people: the face tracks nobody matched, grouped by likeness into people.

The grouping rules are checked on tracks built here (descriptors chosen to be alike or not);
the whole path, with a cut and one worker or two, on a clip built from package-shipped
portraits.
"""

from __future__ import annotations

import numpy as np

from tools.reid import engine
from tools.reid.engine import parallel
from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import Face
from tools.reid.engine.track import Sighting, Track
from tools.reid.engine.unknown import Asked, GroupingRules, embedding_vectors, group_tracks, unknown_people
from tools.reid.schemas import AnalysisOptions, ReIDResult

SFACE = get_descriptor("sface")
RULES = GroupingRules(
    threshold=0.6, min_screen_s=1.0, max_people=10, gap_s=2.0, doubtful=0.63, like_photo=0.78, unlike_found=0.6
)


def unit(seed: int, near: np.ndarray | None = None, spread: float = 0.0) -> np.ndarray:
    """A unit descriptor: random, or ``near`` another one (``spread`` of noise)."""
    rng = np.random.default_rng(seed)
    vector = rng.normal(size=128) if near is None else near + spread * rng.normal(size=128) / np.sqrt(128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def track(face: np.ndarray, frames: range, x: int = 100, score: float = 0.9) -> Track:
    """A track seen at grid points ``frames`` (2 a second), every face described."""
    return Track([Sighting(k, k / 2, Face((x, 50, x + 60, 130), score, face)) for k in frames])


def test_two_faces_in_one_frame_are_never_merged() -> None:
    """Twins side by side in frame 3 stay two people, however alike; a later track of one of
    them joins one group, never both (the constraint passes on to merged groups)."""
    face = unit(1)
    left, right = track(face, range(0, 6), x=100), track(unit(2, face, 0.05), range(3, 8), x=300)
    later = track(unit(3, face, 0.05), range(20, 26))
    groups = group_tracks([left, right, later], SFACE, RULES.threshold)
    assert len(groups) == 2
    for group in groups:
        indices = [k for t in group for s in t.sightings for k in [s.index]]
        assert len(indices) == len(set(indices))


def test_alike_tracks_across_shots_become_one_person_and_strangers_stay_apart() -> None:
    alice, bob = unit(10), unit(20)
    tracks = [
        track(alice, range(0, 6)),
        track(bob, range(0, 4), x=300),
        track(unit(11, alice, 0.3), range(30, 40)),
        track(unit(21, bob, 0.3), range(50, 54)),
    ]
    people = unknown_people(tracks, [], SFACE, RULES)
    assert [(p.label, p.id, p.tracks) for p in people] == [("Person 1", "person-1", 2), ("Person 2", "person-2", 2)]
    first = people[0]
    assert [(a.start, a.end) for a in first.appearances] == [(0.0, 2.5), (15.0, 19.5)]
    assert first.total_s == 7.0 and (first.first_seen_s, first.last_seen_s) == (0.0, 19.5)
    assert first.embeddings is not None and embedding_vectors(first.embeddings).shape == (12, 128)


def test_group_count_stays_bounded_on_a_crowd() -> None:
    """200 strangers, each seen a while: the most seen first, at most the maximum, none
    shorter than the minimum."""
    crowd = [track(unit(100 + n), range(n, n + 2 + n % 7), x=10 * (n % 50)) for n in range(200)]
    people = unknown_people(crowd, [], SFACE, RULES)
    assert len(people) == RULES.max_people
    assert [p.total_s for p in people] == sorted((p.total_s for p in people), reverse=True)
    assert all(p.total_s >= RULES.min_screen_s for p in people)
    assert unknown_people(crowd, [], SFACE, GroupingRules(0.6, 1.0, 0, 2.0, 0.63, 0.78, 0.6)) == []


def test_a_group_like_someone_asked_for_is_not_shown_as_a_stranger() -> None:
    """Near a found person's track, or near their photo: left out rather than called Person 1."""
    alice = unit(30)
    unnamed = track(unit(31, alice, 0.4), range(10, 20))
    named = track(alice, range(0, 6))
    elsewhere = unit(32)[None]
    assert unknown_people([unnamed], [], SFACE, RULES) != []
    assert unknown_people([unnamed], [Asked(elsewhere, [named], [named])], SFACE, RULES) == []
    assert unknown_people([unnamed], [Asked(alice[None], [], [])], SFACE, RULES) == []


def at(distance: float, axis: int) -> np.ndarray:
    """A unit descriptor at cosine ``distance`` from the first axis (the asked person's photo),
    turned towards ``axis``: two of them on one axis are ``cos(difference of angles)`` alike,
    on two axes the product of their cosines."""
    angle = np.arccos(1.0 - distance)
    vector = np.zeros(128, np.float32)
    vector[0], vector[axis] = np.cos(angle), np.sin(angle)
    return vector


PHOTO = at(0.0, 1)[None]
FOUND_FACE = at(0.3, 1)
"""The asked person's face as the matcher found it: 0.3 from their photo."""


def faces_track(faces: list[np.ndarray], frames: range) -> Track:
    """A track at grid points ``frames`` whose sightings take ``faces`` in turn."""
    box = (100, 50, 160, 130)
    return Track([Sighting(k, k / 2, Face(box, 0.9, faces[i % len(faces)])) for i, k in enumerate(frames)])


def test_a_group_on_screen_beside_an_asked_persons_found_track_is_shown_even_like_their_photo() -> None:
    """0.72 from the photo (a looser look could nearly name it) and 0.12 from the found faces:
    kept back when it could be them; shown when it was on screen beside them, as Atinkum was
    beside Freda (his faces 0.72-0.73 from her photo)."""
    named = [track(FOUND_FACE, range(0, 10))]
    found = Asked(PHOTO, named, named)
    beside = track(at(0.72, 1), range(5, 15), x=300)
    later = track(at(0.72, 1), range(20, 30), x=300)
    assert [p.tracks for p in unknown_people([beside], [found], SFACE, RULES)] == [1]
    assert unknown_people([later], [found], SFACE, RULES) == []


def test_being_beside_them_clears_that_track_not_its_group() -> None:
    """One track beside the found track, one later and as near their found face: the later one
    could be them, and the grouping's word that both are one person does not clear it."""
    named = [track(FOUND_FACE, range(0, 10))]
    beside, later = track(at(0.72, 1), range(5, 15), x=300), track(at(0.72, 1), range(20, 30), x=300)
    assert len(group_tracks([beside, later], SFACE, RULES.threshold)) == 1
    assert unknown_people([beside, later], [Asked(PHOTO, named, named)], SFACE, RULES) == []


def test_a_track_found_only_at_a_looser_tolerance_clears_nobody() -> None:
    """Found beyond the default tolerance (the matcher named Freda Liz at 0.67 at the loosest):
    it may be someone else's track, so a group beside it or unlike it is not cleared by it."""
    loosely = Asked(PHOTO, [track(FOUND_FACE, range(0, 10))], [])
    assert unknown_people([track(at(0.72, 1), range(5, 15), x=300)], [loosely], SFACE, RULES) == []
    assert unknown_people([track(at(0.72, 2), range(20, 30))], [loosely], SFACE, RULES) == []


def test_a_stranger_like_the_photo_but_unlike_the_found_faces_is_shown() -> None:
    """0.72 from the photo but 0.80 from every found face (as Freda was 0.68 from Liz's photo,
    at least 0.70 from Liz's faces in the corridor): shown; with nothing found, kept back."""
    stranger = track(at(0.72, 2), range(20, 30))
    found = [track(FOUND_FACE, range(0, 10))]
    assert [p.tracks for p in unknown_people([stranger], [Asked(PHOTO, found, found)], SFACE, RULES)] == [1]
    assert unknown_people([stranger], [Asked(PHOTO, [], [])], SFACE, RULES) == []


def test_an_asked_persons_missed_track_is_still_kept_back() -> None:
    """A far-away track of the asked person the matcher missed: mostly blurred faces 0.9 from the
    photo (its mean 0.73 from the found track, beyond ``doubtful``), one 0.72 from the photo and
    0.12 from a found face. The footage does not clear it, so its likeness to the photo holds."""
    missed = faces_track([at(0.72, 1), at(0.9, 2), at(0.9, 3), at(0.9, 4)], range(20, 32))
    named = [track(FOUND_FACE, range(0, 10))]
    found = Asked(PHOTO, named, named)
    assert unknown_people([missed], [], SFACE, RULES) != []
    assert unknown_people([missed], [found], SFACE, RULES) == []


def test_the_face_shown_and_kept_for_an_unknown_person_is_one_it_was_grouped_by() -> None:
    """A track that took someone else's larger faces: undescribed (followed by position), and one
    described but far from the group's own. The keyframe and the kept descriptors stay on its own."""
    face = unit(50)
    own = [Sighting(k, k / 2, Face((100, 50, 160, 130), 0.9, unit(51 + k, face, 0.3))) for k in range(0, 4)]
    followed = [Sighting(k, k / 2, Face((400, 50, 520, 200), 0.95, None)) for k in range(4, 6)]
    stray = [Sighting(6, 3.0, Face((800, 50, 920, 200), 0.95, unit(60)))]
    person = unknown_people([Track(own + followed + stray)], [], SFACE, RULES)[0]
    assert (person.keyframe.box, person.keyframe.time) == ((100, 50, 160, 130), 0.0)
    assert [a.keyframe.box for a in person.appearances] == [(100, 50, 160, 130)]
    assert person.embeddings is not None
    kept = embedding_vectors(person.embeddings)
    assert kept.shape == (4, 128) and float(SFACE.distances(kept, unit(60)[None]).min()) > 0.5


def test_prints_and_patterns_the_detector_doubts_are_not_people() -> None:
    assert unknown_people([track(unit(40), range(0, 10), score=0.7)], [], SFACE, RULES) == []


def test_someone_seen_in_two_shots_is_one_unknown_person_with_one_worker_or_two(
    grace_twice, photos, monkeypatch
) -> None:
    monkeypatch.setattr(parallel, "SEGMENT_SAMPLES", 6)
    monkeypatch.setattr(parallel, "POOL_MIN_GRID", 1)
    alone = engine.analyze(grace_twice, {"Eileen": [photos["eileen"]]}, workers=1)
    pooled = engine.analyze(grace_twice, {"Eileen": [photos["eileen"]]}, workers=2)
    assert alone.unknown_people == pooled.unknown_people
    assert alone.persons[0].found
    assert len(alone.unknown_people) == 1
    grace = alone.unknown_people[0]
    assert grace.label == "Person 1" and len(grace.appearances) == 2
    assert grace.appearances[0].start < 5.0 < grace.appearances[1].start
    assert "1 other person appears repeatedly: Person 1 for" in alone.text
    # The asked person is never among the unknown: Eileen's side of the frame holds no unknown keyframe.
    assert all(a.keyframe.box[0] > 640 * 0.45 or a.start > 5.0 for a in grace.appearances)


def test_unknown_people_can_be_turned_off_and_leave_unknown_faces_alone(grace_twice, photos) -> None:
    options = AnalysisOptions(max_unknown_people=0)
    result = engine.analyze(grace_twice, {"Eileen": [photos["eileen"]]}, options=options)
    assert result.unknown_people == [] and result.unknown_faces >= 1
    assert "appear" not in result.text.split("recognised.")[-1]


def test_embeddings_stay_out_of_what_people_and_models_are_shown(grace_twice, photos) -> None:
    result = engine.analyze(grace_twice, {"Eileen": [photos["eileen"]]})
    assert result.unknown_people[0].embeddings is not None
    shown = result.without_embeddings()
    assert all(p.embeddings is None for p in shown.unknown_people)
    assert ReIDResult.model_validate_json(result.model_dump_json()).unknown_people == result.unknown_people
    assert result.unknown_person("Person 1") == result.unknown_person("person-1") == result.unknown_people[0]
