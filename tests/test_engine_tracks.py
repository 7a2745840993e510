"""Tracks on sampled frames built by hand: which face continues which track, and shot cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vectors import unit

from tools.reid import engine, synth
from tools.reid.engine import parallel
from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import Face, FrameFaces, SegmentSpec, analyse_segment
from tools.reid.engine.geometry import camera_shift
from tools.reid.engine.quality import Quality
from tools.reid.engine.track import build_tracks
from tools.reid.schemas import AnalysisOptions

SFACE = get_descriptor("sface")
GOOD = Quality(height=100, score=0.95, yaw=0.0, sharpness=200.0)


def near(vector: np.ndarray, seed: int) -> np.ndarray:
    """A descriptor of the same person: ~0.1 cosine distance from ``vector``."""
    moved = vector + 0.45 * unit(seed) / np.sqrt(2)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def test_walking_face_keeps_its_track_when_another_takes_its_place() -> None:
    """In a crowd the face behind overlaps the old box more than the walker's new box does."""
    walker, behind = unit(1), unit(2)
    frames = [
        FrameFaces(0, 0.0, [Face((916, 635, 979, 721), 0.9, walker)]),
        FrameFaces(
            1, 0.5, [Face((910, 646, 950, 699), 0.9, behind), Face((956, 665, 1024, 755), 0.9, near(walker, 3))]
        ),
    ]
    tracks = build_tracks(frames, 2.0, SFACE)
    boxes = sorted([s.face.box for s in t.sightings] for t in tracks)
    assert boxes == [[(910, 646, 950, 699)], [(916, 635, 979, 721), (956, 665, 1024, 755)]]


def test_described_strangers_are_never_linked_by_position() -> None:
    frames = [
        FrameFaces(0, 0.0, [Face((100, 100, 200, 200), 0.95, unit(1), GOOD)]),
        FrameFaces(1, 0.5, [Face((105, 100, 205, 200), 0.95, unit(2), GOOD)]),
        FrameFaces(2, 1.0, [Face((110, 100, 210, 200), 0.95, None)]),
    ]
    tracks = build_tracks(frames, 2.0, SFACE)
    assert [[s.index for s in t.sightings] for t in tracks] == [[0], [1, 2]]


def test_a_poor_face_never_splits_a_track() -> None:
    """A small, unsure face's descriptor sits far from its own person's (the calibration
    bench), so only good faces can say that a face in the same place is someone else."""
    poor = Quality(height=36, score=0.7, yaw=0.0, sharpness=20.0)
    frames = [
        FrameFaces(0, 0.0, [Face((100, 100, 136, 136), 0.7, unit(1), poor)]),
        FrameFaces(1, 0.5, [Face((103, 100, 139, 136), 0.95, unit(2), GOOD)]),
    ]
    tracks = build_tracks(frames, 2.0, SFACE)
    assert [[s.index for s in t.sightings] for t in tracks] == [[0, 1]]


def test_faces_shaken_by_a_hand_held_camera_keep_their_tracks() -> None:
    """Three faces all jump by more than their size (the phone moved): each keeps its track."""
    boxes = [(100, 100, 160, 160), (300, 90, 350, 140), (500, 120, 560, 180)]
    frames = [
        FrameFaces(0, 0.0, [Face(box, 0.9, None) for box in boxes]),
        FrameFaces(1, 0.5, [Face((b[0] + 40, b[1] + 55, b[2] + 40, b[3] + 55), 0.9, None) for b in boxes]),
    ]
    tracks = build_tracks(frames, 2.0, SFACE)
    assert sorted(len(t.sightings) for t in tracks) == [2, 2, 2]
    assert all(t.sightings[0].face.box[0] + 40 == t.sightings[1].face.box[0] for t in tracks)


def test_two_walkers_of_a_crowd_who_moved_alike_are_not_the_camera() -> None:
    """Eight walkers, each moving their own way; two happen to be one 600 px move from two
    faces before: two faces of eight do not make a camera shift (half of them must share it)."""
    before = [(100 + 250 * i, 600, 160 + 250 * i, 660) for i in range(8)]
    steps = [(40, 25), (-45, -30), (50, 28), (-38, 35), (36, -26), (-52, 31), (44, -33), (-60, 27)]
    walked = [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b, (dx, dy) in zip(before, steps, strict=True)]
    assert camera_shift(walked, before) == (0.0, 0.0)
    jumped = [(b[0] + 600, b[1], b[2] + 600, b[3]) for b in before[:2]] + walked[2:]
    assert camera_shift(jumped, before) == (0.0, 0.0)
    shaken = [(b[0] + 600, b[1], b[2] + 600, b[3]) for b in before[:4]] + walked[4:]
    assert camera_shift(shaken, before) == (600.0, 0.0)


def test_no_track_crosses_a_cut() -> None:
    person = unit(1)
    frames = [
        FrameFaces(0, 0.0, [Face((100, 100, 200, 200), 0.9, person)]),
        FrameFaces(1, 0.5, [Face((100, 100, 200, 200), 0.9, None)]),
        FrameFaces(2, 1.0, [Face((100, 100, 200, 200), 0.9, near(person, 5))], cut_before=True),
    ]
    tracks = build_tracks(frames, 2.0, SFACE)
    assert [[s.index for s in t.sightings] for t in tracks] == [[0, 1], [2]]


@pytest.fixture(scope="module")
def cut_clip(make_clip) -> Path:
    """Eileen fills the frame until a cut at 3 s to another shot where Grace stands in her place."""
    return make_clip(
        "cut",
        [
            synth.Actor(synth.astronaut_portrait(), 0.0, 3.0, synth.still(0.5, height=0.6)),
            synth.Actor(synth.hopper_portrait(), 3.0, 6.0, synth.still(0.5, height=0.6)),
        ],
        6.0,
        cuts=[(3.0, (200, 190, 170))],
    )


def test_cut_is_found_and_a_name_does_not_cross_it(cut_clip: Path, photos) -> None:
    clip = cut_clip
    spec = SegmentSpec(sample_fps=2.0, detector="yunet", descriptor="sface", min_face_px=32.0, embed_every=2)
    frames = analyse_segment(clip, spec, 0, None).frames
    assert [f.time for f in frames if f.cut_before] == [3.0]
    # The first sample after the cut describes every face, although the box continues.
    assert all(face.descriptor is not None for face in frames[6].faces)
    result = engine.analyze(clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]})
    eileen, grace = result.persons
    assert eileen.last_seen_s is not None and grace.first_seen_s is not None, "both found"
    assert eileen.last_seen_s < 3.0 <= grace.first_seen_s


def test_tolerance_outside_the_descriptors_scale_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside the sface descriptor's scale: give a value from 0\.3"):
        AnalysisOptions(tolerance=0.85)
    with pytest.raises(ValueError, match=r"outside the dlib descriptor's scale: give a value from 0\.3"):
        AnalysisOptions(descriptor="dlib", tolerance=0.5)
    assert AnalysisOptions(tolerance=0.35).effective_tolerance() == 0.35
    assert AnalysisOptions(descriptor="dlib").effective_tolerance() == 0.42


def test_cut_at_a_segment_boundary_gives_the_answer_of_one_pass(cut_clip: Path, photos, monkeypatch) -> None:
    """Segments of 3 grid points: the cut at 3 s is the first sample of the third segment."""
    monkeypatch.setattr(parallel, "SEGMENT_SAMPLES", 3)
    monkeypatch.setattr(parallel, "POOL_MIN_GRID", 1)
    clip = cut_clip
    assert (6, 9) in parallel.segment_bounds(13, 2)
    spec = SegmentSpec(sample_fps=2.0, detector="yunet", descriptor="sface", min_face_px=32.0, embed_every=2)
    segments = parallel.analyse_video(clip, 13, spec, parallel.PoolRunner(2), progress=lambda _f: None)
    assert [f.time for s in segments for f in s.frames if f.cut_before] == [3.0]
    persons = {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}
    alone = engine.analyze(clip, persons, workers=1)
    pooled = engine.analyze(clip, persons, workers=2)
    assert alone.model_dump(exclude={"stats"}) == pooled.model_dump(exclude={"stats"})
