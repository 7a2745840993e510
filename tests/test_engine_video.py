"""The engine on synthetic clips whose truth is known to the frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.reid import engine, synth
from tools.reid.engine import parallel
from tools.reid.schemas import AnalysisOptions, ReIDResult

STEP = 0.5  # one sampling step at the default 2 fps


def find(result: ReIDResult, name: str):
    return next(p for p in result.persons if p.name == name)


def test_person_entering_and_leaving_is_timed_within_one_step(make_clip, photos) -> None:
    clip = make_clip("enter_leave", [synth.Actor(synth.astronaut_portrait(), 1.5, 4.5, synth.glide(0.3, 0.6, 3))], 6.0)
    result = engine.analyze(clip, {"Eileen": [photos["eileen"]]})
    eileen = find(result, "Eileen")
    assert eileen.found
    assert len(eileen.appearances) == 1
    assert abs(eileen.first_seen_s - 1.5) <= STEP
    assert abs(eileen.last_seen_s - 4.5) <= STEP
    assert 2.0 <= eileen.total_s <= 3.0
    assert eileen.confidence > 0.8
    assert result.media.kind == "video" and result.media.width == 640 and result.media.height == 360
    assert result.stats.frames_analysed == 12
    # Of its 150 frames, those no other frame refers to are not decoded at 2 samples a second.
    assert 12 < result.stats.frames_decoded < 150


def test_two_people_order_and_overlap_are_in_the_caption(two_people_clip, photos) -> None:
    result = engine.analyze(
        two_people_clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}, prompt="Who is here?"
    )
    eileen, grace = find(result, "Eileen"), find(result, "Grace")
    assert eileen.found and grace.found
    assert abs(eileen.first_seen_s - 1.0) <= STEP and abs(grace.first_seen_s - 3.0) <= STEP
    assert abs(grace.last_seen_s - 7.0) <= STEP
    assert result.unknown_faces == 0
    assert "Eileen and Grace both appear" in result.text
    assert "Eileen appears first" in result.text and "followed by Grace at 0:03" in result.text
    assert "together 0:03–0:05" in result.text
    assert result.prompt == "Who is here?"
    # Grace stays on the right: her keyframe box is in the right third of the frame.
    assert grace.appearances[0].keyframe.box[0] > 640 * 2 / 3 - 60


def test_person_never_shown_is_not_found(make_clip, photos) -> None:
    clip = make_clip("grace_only", [synth.Actor(synth.hopper_portrait(), 0.5, 3.5, synth.still(0.5))], 4.0)
    result = engine.analyze(clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]})
    assert find(result, "Grace").found
    eileen = find(result, "Eileen")
    assert not eileen.found and eileen.confidence == 0.0 and eileen.appearances == []
    assert "Eileen was not found" in result.text


def test_stranger_is_no_false_hit(make_clip, photos) -> None:
    """Only Grace is on screen and only Eileen is searched for: Grace is a stranger."""
    clip = make_clip("grace_only", [synth.Actor(synth.hopper_portrait(), 0.5, 3.5, synth.still(0.5))], 4.0)
    result = engine.analyze(clip, {"Eileen": [photos["eileen"]]})
    assert not find(result, "Eileen").found
    assert result.unknown_faces == 1
    assert "1 other face was seen but not recognised" in result.text


def test_face_turning_and_shrinking_keeps_its_name(make_clip, photos) -> None:
    clip = make_clip(
        "turn_shrink",
        [synth.Actor(synth.astronaut_portrait(), 0.0, 6.0, synth.shrink(0.8, 0.3, 6.0), tilt=lambda t: 25 * (t / 6.0))],
        6.0,
    )
    result = engine.analyze(clip, {"Eileen": [photos["eileen"]]})
    eileen = find(result, "Eileen")
    assert eileen.found
    assert len(eileen.appearances) == 1, eileen.appearances
    assert eileen.first_seen_s <= STEP and eileen.last_seen_s >= 6.0 - 2 * STEP
    assert result.unknown_faces == 0


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotated_video_is_analysed_upright(make_clip, photos, rotation: int) -> None:
    clip = make_clip(
        f"rotated_{rotation}",
        [synth.Actor(synth.hopper_portrait(), 0.0, 3.0, synth.still(0.5, height=0.35))],
        3.0,
        size=(360, 640),
        rotation=rotation,
    )
    result = engine.analyze(clip, {"Grace": [photos["grace"]]})
    assert (result.media.width, result.media.height) == (360, 640)
    grace = find(result, "Grace")
    assert grace.found
    left, top, right, bottom = grace.appearances[0].keyframe.box
    assert right <= 360 and bottom <= 640 and 180 - 100 < (left + right) / 2 < 180 + 100


def test_one_process_and_two_give_the_same_result(make_clip, photos, monkeypatch) -> None:
    """Segments of 6 grid points: the 10 s clip is cut into 4 segments across 2 workers."""
    monkeypatch.setattr(parallel, "SEGMENT_SAMPLES", 6)
    monkeypatch.setattr(parallel, "POOL_MIN_GRID", 1)
    clip = make_clip(
        "long_two",
        [
            synth.Actor(synth.astronaut_portrait(), 0.5, 7.0, synth.glide(0.15, 0.5, 6.5, height=0.5)),
            synth.Actor(synth.hopper_portrait(), 2.0, 9.5, synth.still(0.8, height=0.45)),
        ],
        10.0,
    )
    persons = {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}
    alone = engine.analyze(clip, persons, workers=1)
    pooled = engine.analyze(clip, persons, workers=2)
    assert alone.model_dump(exclude={"stats"}) == pooled.model_dump(exclude={"stats"})
    assert alone.stats.frames_analysed == pooled.stats.frames_analysed == 20
    assert alone.stats.faces_detected == pooled.stats.faces_detected
    assert (alone.stats.runner, alone.stats.workers, pooled.stats.workers) == ("local", 1, 2)
    assert find(alone, "Eileen").found and find(alone, "Grace").found


def test_progress_rises_to_one(two_people_clip, photos) -> None:
    seen: list[float] = []
    engine.analyze(two_people_clip, {"Grace": [photos["grace"]]}, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3


def test_sparser_sampling_analyses_fewer_frames(two_people_clip, photos) -> None:
    result = engine.analyze(two_people_clip, {"Grace": [photos["grace"]]}, options=AnalysisOptions(sample_fps=1.0))
    assert result.stats.frames_analysed == 8
    assert find(result, "Grace").found


def test_keyframes_box_and_name_each_found_person(two_people_clip, photos, tmp_path: Path) -> None:
    """Each found person is boxed in exactly one keyframe (one picture serves both when their
    best frames are one, ``moments``), in the highlight colour, named in its file name."""
    from PIL import Image

    result = engine.analyze(two_people_clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]})
    paths = engine.render_keyframes(two_people_clip, result, tmp_path)
    shown = [
        (name, path, box)
        for moment, path in zip(result.moments, paths, strict=True)
        for name, box in ((f.name, f.box) for f in moment.faces if f.name)
    ]
    assert sorted(name for name, _, _ in shown) == ["Eileen", "Grace"]
    for name, path, (left, top, _, bottom) in shown:
        assert name.lower() in path.stem.split("-")
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (640, 360)
            # The box outline is drawn in the highlight colour.
            pixel = image.convert("RGB").getpixel((left + 1, (top + bottom) // 2))
            assert isinstance(pixel, tuple)
            r, g, b = pixel
            assert r > 200 and g > 150 and b < 90


def test_dlib_descriptor_stays_an_option(two_people_clip, photos) -> None:
    pytest.importorskip("dlib", reason="the [dlib] extra is not installed")
    options = AnalysisOptions(descriptor="dlib", detector="hog")
    result = engine.analyze(
        two_people_clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}, options=options
    )
    eileen, grace = find(result, "Eileen"), find(result, "Grace")
    assert eileen.found and grace.found
    assert abs(eileen.first_seen_s - 1.0) <= STEP and abs(grace.first_seen_s - 3.0) <= STEP
