"""Bad input to the engine: every refusal says what is wrong and what to send instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.reid import engine, synth
from tools.reid.engine import Limits
from tools.reid.errors import MediaError, ReferencePhotoError


@pytest.fixture(scope="module")
def short_clip(make_clip) -> Path:
    return make_clip("short", [synth.Actor(synth.hopper_portrait(), 0.0, 4.0, synth.still(0.5))], 4.0)


def test_reference_without_a_face_names_the_person(short_clip, photos) -> None:
    with pytest.raises(ReferencePhotoError, match="Reference photo for Carol: no face was found") as caught:
        engine.analyze(short_clip, {"Grace": [photos["grace"]], "Carol": [photos["blank"]]})
    assert caught.value.person == "Carol"


def test_reference_with_two_faces_is_refused(short_clip, photos) -> None:
    with pytest.raises(ReferencePhotoError, match="2 faces of similar size.*Crop the photo to Dana alone"):
        engine.analyze(short_clip, {"Dana": [photos["pair"]]})


def test_real_group_photo_as_reference_is_refused(short_clip, shared_faces: Path) -> None:
    with pytest.raises(ReferencePhotoError, match="Reference photo for Obama: 2 faces of similar size"):
        engine.analyze(short_clip, {"Obama": [shared_faces / "two_people.jpg"]})


def test_reference_that_is_not_an_image_is_refused(short_clip, photos) -> None:
    with pytest.raises(ReferencePhotoError, match="Reference photo for Erin: .*not a readable image"):
        engine.analyze(short_clip, {"Erin": [photos["text"]]})


def test_reference_patch_on_a_sleeve_does_not_count_as_a_second_face(short_clip, photos) -> None:
    """The astronaut photo has a mission patch dlib scores weakly as a face: still one face."""
    result = engine.analyze(short_clip, {"Eileen": [photos["eileen"]]})
    assert not result.persons[0].found


def test_more_than_five_persons_are_refused(short_clip, photos) -> None:
    persons = {f"P{i}": [photos["grace"]] for i in range(6)}
    with pytest.raises(ReferencePhotoError, match="6 persons were given; at most 5"):
        engine.analyze(short_clip, persons)


def test_corrupt_video_is_refused(tmp_path: Path, photos) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(MediaError, match="corrupt.mp4 is not a video or image that can be decoded"):
        engine.analyze(corrupt, {"Grace": [photos["grace"]]})


def test_truncated_video_is_refused(short_clip, tmp_path: Path, photos) -> None:
    data = short_clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="truncated"):
        engine.analyze(truncated, {"Grace": [photos["grace"]]})


def test_empty_and_non_media_files_are_refused(tmp_path: Path, photos) -> None:
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty.mov is empty"):
        engine.analyze(empty, {"Grace": [photos["grace"]]})
    with pytest.raises(MediaError, match="notes.jpg is not a video or image"):
        engine.analyze(photos["text"], {"Grace": [photos["grace"]]})


def test_limits_refuse_large_and_long_media(short_clip, photos) -> None:
    with pytest.raises(MediaError, match="the limit is 0 MiB"):
        engine.analyze(short_clip, {"Grace": [photos["grace"]]}, limits=Limits(max_bytes=1000))
    with pytest.raises(MediaError, match="lasts 0 min; the limit is 0 min"):
        engine.analyze(short_clip, {"Grace": [photos["grace"]]}, limits=Limits(max_duration_s=2.0))
    with pytest.raises(MediaError, match="megapixels"):
        engine.analyze(photos["grace"], {"Grace": [photos["grace"]]}, limits=Limits(max_pixels=1000))
