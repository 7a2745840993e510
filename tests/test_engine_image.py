"""The engine on photos: package-shipped portraits always; real photos when ../shared is present."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tools.reid import engine, synth


def test_image_names_who_is_where(photos, tmp_path: Path) -> None:
    scene = tmp_path / "scene.jpg"
    canvas = Image.new("RGB", (1600, 600), (70, 70, 70))
    canvas.paste(synth.astronaut_portrait().resize((240, 290)), (60, 150))
    canvas.paste(synth.hopper_portrait().resize((250, 278)), (1290, 160))
    canvas.save(scene)
    result = engine.analyze(scene, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]})
    assert result.media.kind == "image" and result.media.duration_s == 0 and result.media.fps is None
    assert all(p.found for p in result.persons)
    assert "Eileen is on the left" in result.text and "Grace is on the right" in result.text


def test_exif_orientation_is_honoured(photos, tmp_path: Path) -> None:
    """Pixels stored turned, with EXIF saying how to show them: the face is found upright."""
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise
    synth.grace_hopper().rotate(90, expand=True).save(turned, exif=exif)
    result = engine.analyze(turned, {"Grace": [photos["grace"]]})
    assert (result.media.width, result.media.height) == (512, 600)
    assert result.persons[0].found


def test_real_photos_of_obama_match_obama_not_biden(shared_faces: Path) -> None:
    persons = {"Obama": [shared_faces / "obama.jpg"], "Biden": [shared_faces / "biden.jpg"]}
    for name in ("obama2.jpg", "obama3.jpg"):
        result = engine.analyze(shared_faces / name, persons)
        found = {p.name for p in result.persons if p.found}
        assert found == {"Obama"}, (name, result.text)


def test_real_two_people_photo_finds_both_on_their_sides(shared_faces: Path) -> None:
    persons = {"Obama": [shared_faces / "obama.jpg"], "Biden": [shared_faces / "biden.jpg"]}
    result = engine.analyze(shared_faces / "two_people.jpg", persons)
    assert all(p.found for p in result.persons), result.text
    boxes = {p.name: p.appearances[0].keyframe.box for p in result.persons}
    width = result.media.width
    sides = {name: "left" if (box[0] + box[2]) / 2 < width / 2 else "right" for name, box in boxes.items()}
    assert sides["Obama"] != sides["Biden"]
    for name, side in sides.items():
        assert f"{name} is on the {side}" in result.text or f"{name} is in the centre" in result.text


def test_real_partly_covered_face_gives_no_false_hit(shared_faces: Path) -> None:
    persons = {"Obama": [shared_faces / "obama.jpg"], "Biden": [shared_faces / "biden.jpg"]}
    result = engine.analyze(shared_faces / "obama_partial_face.jpg", persons)
    biden = next(p for p in result.persons if p.name == "Biden")
    assert not biden.found, result.text


def test_each_real_obama_photo_works_as_a_reference(shared_faces: Path) -> None:
    for reference in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
        result = engine.analyze(shared_faces / "two_people.jpg", {"Obama": [shared_faces / reference]})
        assert result.persons[0].found, reference
        assert result.unknown_faces == 1  # Biden, who was not searched for


def test_threads_analysing_at_once_each_get_the_right_answer(photos) -> None:
    """The service runs tasks in threads: models must not be shared between them."""
    from concurrent.futures import ThreadPoolExecutor

    persons = {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}
    expected = engine.analyze(photos["grace"], persons).model_dump(exclude={"stats"})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: engine.analyze(photos["grace"], persons), range(8)))
    assert all(r.model_dump(exclude={"stats"}) == expected for r in results)
    assert [p["found"] for p in expected["persons"]] == [False, True]
