"""The engine on real footage (skipped when ../shared is absent):
../shared/fixtures/footage/street-1080p.mp4, a 4.2 s 1080p crowd walking towards the camera,
with nobody known in it; and corridor/corridor-phone.mp4, four named people walking up to a
hand-held phone, one photo each taken elsewhere, and a fifth person who is not there.

A face cropped from the first frame is a fair reference for that same person in the other
frames (different size, pose and blur), as the footage's README says. What is on screen when
was written down by eye from contact sheets: ``bench/footage_truth.py`` says how.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bench.footage_truth import CORRIDOR, CORRIDOR_S, STREET_S, STREET_WALKER, score
from tools.reid import engine
from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import SegmentSpec, analyse_segment
from tools.reid.engine.track import build_tracks
from tools.reid.schemas import TOLERANCES, AnalysisOptions

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "footage"
STREET = FOOTAGE / "street-1080p.mp4"
CORRIDOR_CLIP = FOOTAGE / "corridor" / "corridor-phone.mp4"
LOOSEST = TOLERANCES["sface"].loosest
WALKER_BOX = (916, 635, 979, 721)
"""The man in view the whole clip, an 86 px face in the first frame."""
CUT_AT_FRAME = 50
SHIFT_PX = 190
"""Shot B shows the same street moved sideways, so other faces stand where his was."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def street() -> Path:
    if not STREET.is_file():
        pytest.skip(f"real footage not present: {STREET} (the ../shared checkout) is absent")
    return STREET


@pytest.fixture(scope="module")
def walker_photo(street: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """His face from the first frame, with as much margin again on every side."""
    with av.open(str(street)) as container:
        first = next(container.decode(video=0)).to_image()
    left, top, right, bottom = WALKER_BOX
    width, height = right - left, bottom - top
    path = tmp_path_factory.mktemp("walker") / "walker.png"
    first.crop((left - width, top - height, right + width, bottom + height)).save(path)
    return path


@pytest.fixture(scope="module")
def cut_clip(street: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The street at 960x540, cut at frame 50 to a second shot of it moved sideways."""
    path = tmp_path_factory.mktemp("cut") / "cut.mp4"
    with av.open(str(street)) as source, av.open(str(path), "w") as target:
        stream = target.add_stream("libx264", rate=25, options={"preset": "veryfast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = 960, 540, "yuv420p"
        stream.time_base = Fraction(1, 25)
        for n, frame in enumerate(source.decode(video=0)):
            pixels = np.asarray(frame.to_image().resize((960, 540)))
            if n >= CUT_AT_FRAME:
                pixels = np.roll(pixels, SHIFT_PX, axis=1)
            out = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            out.pts = n
            target.mux(stream.encode(out))
        target.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def corridor() -> Path:
    if not CORRIDOR_CLIP.is_file():
        pytest.skip(f"real footage not present: {CORRIDOR_CLIP} (the ../shared checkout) is absent")
    return CORRIDOR_CLIP


def corridor_photos(clip: Path) -> dict[str, list[Path]]:
    return {name: [clip.parent / "people" / f"{name.lower()}.jpg"] for name in CORRIDOR}


@pytest.mark.parametrize("tolerance", [None, LOOSEST])
def test_nobody_known_is_found_in_a_crowd_of_strangers(street: Path, shared_faces: Path, tolerance: float) -> None:
    """Also at the top of the tolerance range, and with the corridor's five photos."""
    options = AnalysisOptions(tolerance=tolerance)
    persons = {
        "Obama": [shared_faces / "obama.jpg", shared_faces / "obama2.jpg"],
        "Biden": [shared_faces / "biden.jpg"],
    }
    result = engine.analyze(street, persons, options=options)
    assert [p.name for p in result.found()] == []
    assert result.unknown_faces >= 10
    assert result.stats.faces_detected >= 50
    if CORRIDOR_CLIP.is_file():
        assert engine.analyze(street, corridor_photos(CORRIDOR_CLIP), options=options).found() == []


def test_face_from_one_frame_is_found_in_the_others(street: Path, walker_photo: Path) -> None:
    result = engine.analyze(street, {"Walker": [walker_photo]})
    walker = result.persons[0]
    assert walker.found
    assert len(walker.appearances) == 1
    assert walker.total_s >= 0.9 * result.media.duration_s
    measured = score(walker, STREET_WALKER, STREET_S, 1 / AnalysisOptions().sample_fps)
    assert measured.recall >= 0.95 and measured.false_s == 0
    # His keyframe is his own face, in the middle of the street, not a neighbour's.
    left, top, right, bottom = walker.appearances[0].keyframe.box
    assert 700 < (left + right) / 2 < 1100 and 600 < (top + bottom) / 2 < 850


WALKER_AT = {0: WALKER_BOX, 38: (1003, 721, 1080, 820), 100: (741, 671, 840, 801)}
"""His face in frames 0, 38 and 100 (0, 1.52 and 4 s; the engine's boxes, checked on the
contact sheet): facing the camera, turned, and looking down at his phone."""


@pytest.mark.parametrize("tolerance", [None, LOOSEST])
def test_three_photos_each_find_him_and_name_no_stranger(
    street: Path, shared_faces: Path, tmp_path: Path, tolerance: float | None
) -> None:
    """Three photos of each person asked for, where the fixtures have them: the walker's three
    faces cut from frames of the clip (a fair reference, as above), and three of Obama's."""
    photos = []
    with av.open(str(street)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n in WALKER_AT:
                left, top, right, bottom = WALKER_AT[n]
                width, height = right - left, bottom - top
                crop = frame.to_image().crop((left - width, top - height, right + width, bottom + height))
                photos.append(tmp_path / f"walker-{n}.png")
                crop.save(photos[-1])
    persons = {
        "Walker": photos,
        "Obama": [shared_faces / f"{name}.jpg" for name in ("obama", "obama2", "obama3")],
        "Biden": [shared_faces / "biden.jpg"],
    }
    options = AnalysisOptions(tolerance=tolerance)
    result = engine.analyze(street, persons, options=options)
    measured = score(result.persons[0], STREET_WALKER, STREET_S, 1 / options.sample_fps)
    assert measured.recall >= 0.9 and measured.false_s == 0, measured
    assert [p.name for p in result.found()] == ["Walker"]


@pytest.mark.parametrize("sample_fps", [2.0, 5.0])
def test_cut_between_two_real_shots_ends_every_track(cut_clip: Path, sample_fps: float) -> None:
    spec = SegmentSpec(sample_fps=sample_fps, detector="yunet", descriptor="sface", min_face_px=32.0, embed_every=2)
    frames = analyse_segment(cut_clip, spec, 0, None).frames
    cut_time = CUT_AT_FRAME / 25
    assert [f.time for f in frames if f.cut_before] == [min(f.time for f in frames if f.time >= cut_time)]
    tracks = build_tracks(frames, sample_fps, get_descriptor("sface"))
    assert len(tracks) >= 5
    for track in tracks:
        assert track.end < cut_time or track.start >= cut_time, [(s.time, s.face.box) for s in track.sightings]


def test_he_is_found_again_after_the_cut_by_his_face(cut_clip: Path, walker_photo: Path) -> None:
    """No track carries his name over the cut (above); his face names him again after it."""
    result = engine.analyze(cut_clip, {"Walker": [walker_photo]})
    walker = result.persons[0]
    cut_time = CUT_AT_FRAME / 25
    assert walker.found and walker.first_seen_s is not None and walker.last_seen_s is not None
    assert walker.first_seen_s < cut_time < cut_time + 1.0 < walker.last_seen_s


RECALL_FLOOR = {"Freda": 0.85, "Liz": 0.85, "Prince": 0.85, "Atinkum": 0.85, "Musah": 1.0}
"""Everyone is found over the issue's 85% of the time their face is visible. Prince and Atinkum
because their far tracks (51-76 px, detector scores 0.80-0.89, blurred: 0.60-0.91 from their
photos, as far as strangers sit) are chained to their near ones after they were hidden behind
the walker in front (``rejoin``): Prince's far and near faces 0.41 apart, every other track of
the shot 0.70 or more; Atinkum's far faces 0.55 from his near track and 0.59 from the moment he
passes the camera, which are one chain (0.50 apart), and 0.61 or more from everyone else's."""


@pytest.mark.parametrize("tolerance", [None, LOOSEST])
def test_people_are_found_while_their_face_is_visible_and_never_elsewhere(corridor: Path, tolerance: float) -> None:
    options = AnalysisOptions(tolerance=tolerance)
    result = engine.analyze(corridor, corridor_photos(corridor), options=options)
    scores = {p.name: score(p, CORRIDOR[p.name], CORRIDOR_S, 1 / options.sample_fps) for p in result.persons}
    assert {n: s.false_s for n, s in scores.items()} == dict.fromkeys(CORRIDOR, 0.0)
    assert all(scores[n].recall >= floor for n, floor in RECALL_FLOOR.items()), scores
    assert [p.name for p in result.found()] == ["Freda", "Atinkum", "Prince", "Liz"]


DLIB_FLOOR = {"Freda": 0.85, "Atinkum": 0.85, "Prince": 0.85, "Liz": 0.0, "Musah": 1.0}
"""dlib tells these people apart less well than SFace (``TOLERANCES``): at the tolerances where
it names nobody wrongly it misses Liz (her two good faces sit 0.41 from her photo, and a track
with fewer than three must beat the tolerance by the margin)."""


@pytest.mark.parametrize("tolerance", [None, TOLERANCES["dlib"].loosest])
@pytest.mark.parametrize("name", list(CORRIDOR))
def test_with_dlib_each_person_asked_for_alone_is_never_claimed_elsewhere(
    corridor: Path, name: str, tolerance: float | None
) -> None:
    """dlib's range stops under the 0.433 at which Atinkum's track sits from Musah's photo."""
    pytest.importorskip("dlib", reason="the [dlib] extra is not installed")
    options = AnalysisOptions(descriptor="dlib", tolerance=tolerance)
    result = engine.analyze(corridor, {name: corridor_photos(corridor)[name]}, options=options)
    measured = score(result.persons[0], CORRIDOR[name], CORRIDOR_S, 1 / options.sample_fps)
    assert measured.false_s == 0.0, result.persons[0].appearances
    assert measured.recall >= DLIB_FLOOR[name], measured


@pytest.mark.parametrize("tolerance", [None, LOOSEST])
@pytest.mark.parametrize("name", list(CORRIDOR))
def test_each_person_asked_for_alone_is_never_claimed_elsewhere(corridor: Path, name: str, tolerance: float) -> None:
    """A team usually looks for one person: with no other photo, no margin over the next person
    guards against strangers. Atinkum's near track sits 0.629 from Musah's photo and Freda's
    0.673 from Liz's: the top of the range stays under them."""
    options = AnalysisOptions(tolerance=tolerance)
    result = engine.analyze(corridor, {name: corridor_photos(corridor)[name]}, options=options)
    measured = score(result.persons[0], CORRIDOR[name], CORRIDOR_S, 1 / options.sample_fps)
    assert measured.false_s == 0.0, result.persons[0].appearances
    assert measured.recall >= RECALL_FLOOR[name], measured
