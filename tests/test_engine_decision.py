"""The decision rule on every run: tracks decided by their good faces, the margin against
strangers, reference photos that add nothing or disagree, and a confidence that means what it
says, on faces degraded in code (H.264, blur, 40-100 px) from package-shipped photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from vectors import GOOD, POOR, at_distance, persons, unit

from bench.calibration_bench import degraded
from tools.reid import engine, synth
from tools.reid.engine import detect
from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import Face, every_face
from tools.reid.engine.match import confidence, identify
from tools.reid.engine.quality import Quality
from tools.reid.engine.references import load_persons
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import TOLERANCES

SFACE = get_descriptor("sface")
TOLERANCE = TOLERANCES["sface"].default
MAX_PIXELS = 40_000_000


def track_of(faces: list[tuple[np.ndarray, Quality]]) -> Track:
    return Track(
        [Sighting(i, i * 0.5, Face((0, 0, q.height, q.height), q.score, v, q)) for i, (v, q) in enumerate(faces)]
    )


def test_good_faces_decide_and_poor_ones_do_not_outvote_them() -> None:
    """Two good faces near A and four poor ones far from everyone: the median of all six would
    be 0.9; the good faces say A."""
    a, b = unit(1), unit(2)
    faces = [(at_distance(a, 0.42, 10), GOOD), (at_distance(a, 0.48, 11), GOOD)]
    faces += [(at_distance(a, 0.92, 20 + i), POOR) for i in range(4)]
    found = identify([track_of(faces)], persons(a, b), TOLERANCE, SFACE, video=True)
    assert [len(found["P0"]), len(found["P1"])] == [1, 0]
    assert found["P0"][0].distance == pytest.approx(0.45, abs=0.01)
    assert found["P0"][0].best.index == 0


def test_fewer_than_three_good_faces_are_held_to_the_stricter_limit() -> None:
    """A stranger's two good faces sat 0.66 and 0.72 from Obama's photos in the street (a mean
    of 0.69, then within the loosest tolerance): fewer good faces than a track's distance is the
    mean of must beat the tolerance by the margin, even at the top of the range; a third good
    face makes it a mean of three."""
    a, b = unit(1), unit(2)
    loosest = TOLERANCES["sface"].loosest
    faces = [(at_distance(a, loosest - 0.04, 10), GOOD), (at_distance(a, loosest - 0.02, 11), GOOD)]
    faces += [(at_distance(a, 0.9, 20 + i), POOR) for i in range(4)]
    assert identify([track_of(faces)], persons(a, b), loosest, SFACE, video=True) == {"P0": [], "P1": []}
    faces[2] = (at_distance(a, loosest - 0.06, 30), GOOD)
    assert len(identify([track_of(faces)], persons(a, b), loosest, SFACE, video=True)["P0"]) == 1


def test_a_track_as_near_to_two_people_stays_unknown() -> None:
    """Faces halfway between two people's photos, well within the tolerance of both."""
    a = unit(1)
    b = at_distance(a, 0.3, 2)
    middle = (a + b) / np.linalg.norm(a + b)
    plane, _ = np.linalg.qr(np.stack([a, b], axis=1))
    faces = []
    for i in range(3):
        aside = unit(10 + i)
        aside -= plane @ (plane.T @ aside)  # away from both photos alike
        aside /= np.linalg.norm(aside)
        faces.append(((0.8 * middle + 0.6 * aside).astype(np.float32), GOOD))
    distances = SFACE.distances(np.stack([v for v, _ in faces]), np.stack([a, b]))
    assert np.all(distances < 0.5) and np.allclose(distances[:, 0], distances[:, 1], atol=0.03)
    assert identify([track_of(faces)], persons(a, b), TOLERANCE, SFACE, video=True) == {"P0": [], "P1": []}


def test_the_whole_track_is_the_persons_time_its_turned_frames_too() -> None:
    """Named by its frontal faces, the track covers its profile frames (undescribed or poor)."""
    a, b = unit(1), unit(2)
    turned = Quality(height=90, score=0.7, yaw=0.8, sharpness=150.0)
    faces = [(at_distance(a, 0.4, 10), GOOD), (at_distance(a, 0.45, 11), GOOD)]
    faces += [(at_distance(a, 0.85, 12), turned), (at_distance(a, 0.88, 13), turned)]
    track = track_of(faces)
    track.sightings.append(Sighting(4, 2.0, Face((0, 0, 90, 90), 0.6, None)))
    found = identify([track], persons(a, b), TOLERANCE, SFACE, video=True)
    assert (found["P0"][0].track.start, found["P0"][0].track.end) == (0.0, 2.0)


def png(image: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")  # type: ignore[attr-defined]
    return out.getvalue()


def test_a_photo_that_adds_nothing_is_reported() -> None:
    photo = png(synth.astronaut())
    (person,) = load_persons({"Eileen": [photo, photo]}, "yunet", "sface", MAX_PIXELS)
    assert person.notes == ("photo 2 of Eileen adds nothing: it is nearly the same picture as photo 1.",)
    assert len(person.descriptors) == 1


def test_photos_of_two_people_under_one_name_are_reported() -> None:
    (person,) = load_persons(
        {"Eileen": [png(synth.astronaut()), png(synth.grace_hopper())]}, "yunet", "sface", MAX_PIXELS
    )
    assert len(person.notes) == 1 and "look like different people" in person.notes[0]
    assert len(person.descriptors) == 3  # both photos and their mean


def test_a_photo_of_someone_else_among_three_is_left_out(shared_faces: Path) -> None:
    photos = [shared_faces / f for f in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")]
    (person,) = load_persons({"Obama": photos}, "yunet", "sface", MAX_PIXELS)
    assert len(person.notes) == 1 and person.notes[0].startswith("photo 4 of Obama was not used")
    assert len(person.descriptors) == 4  # three photos and their mean


def test_reference_notes_reach_the_answer(photos: dict[str, Path]) -> None:
    result = engine.analyze(photos["eileen"], {"Eileen": [photos["eileen"], photos["eileen"]]})
    assert result.persons[0].reference_notes == [
        "photo 2 of Eileen adds nothing: it is nearly the same picture as photo 1."
    ]
    assert "Photo 2 of Eileen adds nothing" in result.text


@pytest.fixture(scope="module")
def degraded_faces() -> list[tuple[str, Face]]:
    """Eileen and Grace Hopper, their faces 40-100 px through H.264 at 150-600 kbit/s, sharp and
    motion-blurred, as found and described by the engine."""
    faces = []
    for name, photo in (("Eileen", synth.astronaut_portrait()), ("Grace", synth.hopper_portrait())):
        for height in (40, 56, 80, 100):
            for bitrate in (150_000, 600_000):
                for blur in (0, 7):
                    rgb = degraded(png(photo), height, bitrate, blur)
                    found = every_face(rgb, detect.get_detector("yunet"), SFACE, 16)
                    faces.append((name, max(found, key=lambda f: f.box[3] - f.box[1])))
    return faces


def test_confidence_means_what_it_says_on_degraded_faces(degraded_faces: list[tuple[str, Face]]) -> None:
    """Each face against both photos: the confident claims are right, and the right person's
    good faces get a confidence (the bench checks the calibration on real footage)."""
    references = load_persons(
        {"Eileen": [png(synth.astronaut())], "Grace": [png(synth.grace_hopper())]}, "yunet", "sface", MAX_PIXELS
    )
    claims = []
    for name, face in degraded_faces:
        assert face.descriptor is not None and face.quality is not None
        for person in references:
            distance = float(SFACE.distances(face.descriptor[None], person.descriptors).min())
            claims.append((confidence(distance, SFACE.scale), person.name == name, face.quality.is_good()))
    sure = [right for c, right, _ in claims if c >= 0.9]
    assert len(sure) >= 8 and all(sure)
    right_good = [c for c, right, good in claims if right and good]
    assert len(right_good) >= 8 and np.median(right_good) >= 0.5
    assert max(c for c, right, _ in claims if not right) < 0.1


def test_degraded_faces_are_graded_by_quality(degraded_faces: list[tuple[str, Face]]) -> None:
    """Faces of 40 px and more, sure and frontal, are good; the quality is measured on every
    described face."""
    qualities = [f.quality for _, f in degraded_faces if f.quality is not None]
    assert len(qualities) == len(degraded_faces)
    assert any(q.is_good() for q in qualities)
    blurred_sharpness = [q.sharpness for q in qualities[1::2]]
    sharp_sharpness = [q.sharpness for q in qualities[0::2]]
    assert np.median(blurred_sharpness) < np.median(sharp_sharpness)
