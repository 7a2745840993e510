"""The gallery through its Python API and the facade: enrolment checks, searches by name and
for everyone, tenants kept apart, removal while a search runs, the audit log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from tools.reid.errors import InvalidInput
from tools.reid.facade import ReIDTool
from tools.reid.gallery import (
    Asker,
    EmbeddedFace,
    EmptyGallery,
    EnrolmentRefused,
    Gallery,
    NameTaken,
    NotEnrolled,
    ReEnrolNeeded,
)
from tools.reid.gallery.checks import yaw_degrees
from tools.reid.schemas import ReIDRequest
from tools.reid.settings import ReIDSettings

CONSENT = "agreed in person, 2026-12-01"


@pytest.fixture
def tool(tmp_path: Path) -> ReIDTool:
    return ReIDTool(ReIDSettings(workers=1, db_path=tmp_path / "reid.db"))


@pytest.fixture(scope="module")
def more_photos(photos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Other photos of the same faces: mirrored (another photo of Eileen), blurred, re-saved, tiny."""
    folder = tmp_path_factory.mktemp("more")
    eileen = Image.open(photos["eileen"]).convert("RGB")
    paths = {
        "eileen_mirrored": folder / "eileen_mirrored.jpg",
        "eileen_blurred": folder / "eileen_blurred.jpg",
        "eileen_resaved": folder / "eileen_resaved.png",
        "eileen_tiny": folder / "eileen_tiny.jpg",
    }
    ImageOps.mirror(eileen).save(paths["eileen_mirrored"], quality=92)
    eileen.filter(ImageFilter.GaussianBlur(2)).save(paths["eileen_blurred"], quality=92)
    eileen.save(paths["eileen_resaved"])
    eileen.resize((160, 160)).save(paths["eileen_tiny"], quality=92)
    return paths


def enrol(tool: ReIDTool, tenant: str, name: str, *photos: Path, **kwargs: object):
    return tool.people(tenant).enrol(
        name,
        [(p.name, p) for p in photos],
        by="U1",
        consent=CONSENT,
        **kwargs,  # type: ignore[arg-type]
    )


def test_enrolment_keeps_embeddings_and_thumbnails_and_says_what_to_add(tool: ReIDTool, photos, more_photos) -> None:
    enrolment = enrol(tool, "T1", "Eileen", photos["eileen"])
    assert enrolment.added == 1 and enrolment.person.faces == 1
    assert "add two or three more" in enrolment.text()
    enrolment = enrol(tool, "T1", "Eileen", more_photos["eileen_mirrored"], more=True)
    assert enrolment.person.faces == 2
    assert enrolment.person.coverage == "Only frontal photos: add a three-quarter one."
    thumbnails = tool.people("T1").thumbnails("eileen")
    assert len(thumbnails) == 2 and all(t[:2] == b"\xff\xd8" and len(t) < 6000 for t in thumbnails)
    shown = tool.people("T1").show("EILEEN")
    assert (shown.name, shown.consent, shown.enrolled_by, shown.descriptor) == ("Eileen", CONSENT, "U1", "sface")


def test_bad_photos_are_refused_with_the_reason_and_nothing_is_stored(tool: ReIDTool, photos, more_photos) -> None:
    with pytest.raises(EnrolmentRefused) as refused:
        enrol(
            tool,
            "T1",
            "Eileen",
            photos["eileen"],
            more_photos["eileen_blurred"],
            more_photos["eileen_tiny"],
            photos["pair"],
            photos["text"],
            photos["blank"],
        )
    reasons = {r.photo: r.reason for r in refused.value.refusals}
    assert "blurred" in reasons["eileen_blurred.jpg"]
    assert "pixels wide" in reasons["eileen_tiny.jpg"] and "closer" in reasons["eileen_tiny.jpg"]
    assert "2 faces of similar size" in reasons["pair.jpg"]
    assert "JPEG or PNG" in reasons["notes.jpg"]
    assert "no face was found" in reasons["blank.png"]
    assert "nothing was stored" in str(refused.value)
    assert tool.people("T1").people() == []


def test_duplicates_and_a_far_photo_are_questioned(tool: ReIDTool, photos, more_photos) -> None:
    enrol(tool, "T1", "Eileen", photos["eileen"])
    with pytest.raises(EnrolmentRefused, match="duplicate"):
        enrol(tool, "T1", "Eileen", more_photos["eileen_resaved"], more=True)
    with pytest.raises(EnrolmentRefused, match="Is it someone else"):
        enrol(tool, "T1", "Eileen", photos["grace"], more=True)
    assert tool.people("T1").show("Eileen").faces == 1
    assert enrol(tool, "T1", "Eileen", photos["grace"], more=True, accept_far=True).person.faces == 2
    with pytest.raises(EnrolmentRefused, match="enrolled already, as Eileen"):
        enrol(tool, "T1", "Grace", photos["grace"])


def test_names_enrolled_twice_unknown_names_and_missing_consent(tool: ReIDTool, photos) -> None:
    enrol(tool, "T1", "Eileen Collins", photos["eileen"])
    with pytest.raises(NameTaken, match="already enrolled.*--more"):
        enrol(tool, "T1", "eileen collins", photos["grace"])
    with pytest.raises(NotEnrolled, match="Did you mean Eileen Collins"):
        tool.people("T1").show("Eileen Colins")
    with pytest.raises(InvalidInput, match="no consent note"):
        tool.people("T1").enrol("Grace", [("grace.jpg", photos["grace"])], by="U1", consent=" ")


def test_another_tenants_person_is_nobody_here(tool: ReIDTool, photos, two_people_clip: Path) -> None:
    enrol(tool, "T1", "Eileen", photos["eileen"])
    other = Asker("T2", "U9", "python")
    with pytest.raises(NotEnrolled) as unknown:
        tool.analyze(ReIDRequest(media=str(two_people_clip), enrolled=["Eileen"]), asker=other)
    assert "Did you mean" not in str(unknown.value)
    with pytest.raises(EmptyGallery, match="nobody is enrolled"):
        tool.analyze(ReIDRequest(media=str(two_people_clip), everyone_enrolled=True), asker=other)
    with pytest.raises(NotEnrolled):
        tool.people("T2").remove("Eileen", by="U9")
    assert tool.people("T1").names() == ["Eileen"]
    assert tool.people("T2").audit_log() == []


def test_search_by_name_and_for_everyone_is_audited(tool: ReIDTool, photos, two_people_clip: Path) -> None:
    enrol(tool, "T1", "Eileen", photos["eileen"])
    enrol(tool, "T1", "Grace", photos["grace"])
    asker = Asker("T1", "U2", "python")
    by_name = tool.analyze(ReIDRequest(media=str(two_people_clip), enrolled=["grace"]), asker=asker)
    assert [(p.name, p.found) for p in by_name.persons] == [("Grace", True)]
    everyone = tool.analyze(ReIDRequest(media=str(two_people_clip), everyone_enrolled=True), asker=asker)
    assert sorted(p.name for p in everyone.found()) == ["Eileen", "Grace"]
    assert "Searched for everyone enrolled (2 people)." in everyone.text
    log = tool.people("T1").audit_log()
    searches = [e for e in log if e.action == "search"]
    assert [e.names for e in searches] == [["(everyone enrolled)"], ["grace"]]
    assert searches[0].actor == "U2" and searches[0].surface == "python"
    assert searches[0].media_digest is not None and len(searches[0].media_digest) == 64
    assert searches[0].outcome == "found: Eileen, Grace"


def test_a_gallery_of_another_descriptor_asks_for_enrolment_again(tool: ReIDTool, photos, two_people_clip) -> None:
    gallery = tool.people("T1")
    gallery.enrol_embeddings(
        "Old",
        [EmbeddedFace(np.ones(128, np.float32) / np.sqrt(128), b"\xff\xd8")],
        by="U1",
        consent=CONSENT,
        descriptor="dlib",
        source="an older gallery",
    )
    with pytest.raises(ReEnrolNeeded, match="Enrol Old again"):
        tool.analyze(ReIDRequest(media=str(two_people_clip), enrolled=["Old"]), asker=Asker("T1", "U1", "python"))


def test_a_removal_during_a_search_is_left_out_of_its_answer(tool: ReIDTool, photos, two_people_clip) -> None:
    enrol(tool, "T1", "Eileen", photos["eileen"])
    enrol(tool, "T1", "Grace", photos["grace"])
    removal: list[object] = []

    def remove_once(fraction: float) -> None:
        if fraction > 0.3 and not removal:
            removal.append(tool.people("T1").remove("Grace", by="U3"))

    result = tool.analyze(
        ReIDRequest(media=str(two_people_clip), enrolled=["Eileen", "Grace"]), remove_once, Asker("T1", "U1", "python")
    )
    assert [p.name for p in result.persons] == ["Eileen"]
    assert "Grace was removed from the gallery while this search ran" in result.text
    assert all(face.name != "Grace" for moment in result.moments for face in moment.faces)


def test_yaw_is_read_from_the_landmarks() -> None:
    frontal = np.array([[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]], np.float32)
    turned = frontal.copy()
    turned[2, 0] = 60 + 40 * 1.0  # the nose a whole eye distance aside: about 61 degrees
    assert yaw_degrees(frontal) == pytest.approx(0.0)
    assert 55 < (yaw_degrees(turned) or 0) < 65
    assert yaw_degrees(None) is None


def test_the_gallery_file_is_private_and_reopens(tmp_path: Path, photos) -> None:
    path = tmp_path / "g.db"
    gallery = Gallery(path)
    gallery.tenant("T").enrol("Eileen", [("e", photos["eileen"])], by="U", consent=CONSENT)
    gallery.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert Gallery(path).tenant("T").names() == ["Eileen"]


def test_one_matrix_product_gives_each_persons_nearest_reference() -> None:
    from tools.reid.engine.embed import get_descriptor
    from tools.reid.engine.nearest import BLOCK_FACES, References
    from tools.reid.engine.references import Person

    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        rows = rng.standard_normal((n, 128)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    persons = [Person(f"P{n}", unit(1 + n % 4)) for n in range(50)]
    tracks = [unit(k) for k in (3, 0, BLOCK_FACES + 7, 1)]
    sface = get_descriptor("sface")
    each = References(persons).nearest_each(tracks, sface)
    for faces, got in zip(tracks, each, strict=True):
        expected = np.stack([sface.distances(faces, p.descriptors).min(axis=1) for p in persons], axis=1)
        assert got.shape == (len(faces), len(persons)) and np.allclose(got, expected, atol=1e-6)


def test_audit_entries_past_their_retention_are_deleted(tool: ReIDTool, photos) -> None:
    enrol(tool, "T1", "Grace", photos["grace"])
    gallery = tool.people("T1")
    assert [e.action for e in gallery.audit_log()] == ["enrol"]
    assert tool.gallery.purge(3600.0) == 0, "an hour's retention keeps what is minutes old"
    assert tool.gallery.purge(0.0) == 1
    assert gallery.audit_log() == [] and gallery.names() == ["Grace"], "gallery entries stay until removed"
