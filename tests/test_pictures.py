"""The pictures: the timeline drawn from a result alone, keyframes that box everyone found in a
frame, and the moments behind them, from hand-made results and from real analyses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from results import person, result_of

from tools.reid import ReIDTool, engine
from tools.reid.engine.frames import Face, FrameFaces
from tools.reid.engine.keyframes import BOX_COLOUR, UNKNOWN_COLOUR, label_px, render_keyframes
from tools.reid.engine.match import Identified
from tools.reid.engine.moments import keyframe_moments
from tools.reid.engine.timeline import (
    BACKGROUND,
    PALETTE,
    TOGETHER,
    render_timeline,
    timeline_layout,
    together_spans,
)
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import Moment, MomentFace
from tools.reid.settings import ReIDSettings

RGB = tuple[int, int, int]


def rgb_at(image: Image.Image, xy: tuple[int, int]) -> RGB:
    """A pixel of an RGB image (Pillow types ``getpixel`` for every mode at once)."""
    value = image.getpixel(xy)
    assert isinstance(value, tuple), value
    r, g, b = value
    return (r, g, b)


def colours(image: Image.Image) -> list[tuple[int, tuple[int, ...]]]:
    """(count, colour) of every colour of an RGB image."""
    found = image.getcolors(2**16)
    assert found is not None, "more colours than asked for"
    return [(n, rgb) for n, rgb in found if isinstance(rgb, tuple)]


def near(pixel: tuple[int, ...], colour: tuple[int, ...], slack: int = 60) -> bool:
    """Colours compared loosely: keyframes are JPEGs."""
    return all(abs(a - b) <= slack for a, b in zip(pixel, colour, strict=True))


# --- The timeline ----------------------------------------------------------------------------


def test_timeline_draws_a_row_per_person_bars_not_found_and_together(tmp_path: Path) -> None:
    result = result_of(
        [person("Alice", [(5, 20), (40, 50)]), person("Bob", [(15, 30)]), person("Carol", [])],
    )
    path = render_timeline(result, tmp_path / "timeline.png")
    layout = timeline_layout(result)
    with Image.open(path) as opened:
        assert opened.format == "PNG"
        image = opened.convert("RGB")
    assert image.size == (layout.width, layout.height) and 1000 <= image.width <= 1200
    assert layout.rows == 3 and image.height < 400  # fits Slack's preview

    def pixel(seconds: float, row: int, dy: int | None = None) -> RGB:
        top = layout.row_top(row)
        return rgb_at(image, (layout.x(seconds), top + (layout.row_height // 2 if dy is None else dy)))

    # Bars where each is on screen, in the row's colour; nothing elsewhere.
    assert pixel(10, 0) == PALETTE[0] and pixel(45, 0) == PALETTE[0]
    assert pixel(30, 0) == BACKGROUND and pixel(55, 0) == BACKGROUND
    assert pixel(20, 1) == PALETTE[1] and pixel(10, 1) == BACKGROUND
    carol = image.crop((layout.x(0), layout.row_top(2), layout.x(60), layout.row_top(3) - 1))
    assert not set(PALETTE) & {colour for _, colour in colours(carol)}
    # "not found" is written in Carol's row, at the start of the axis.
    assert len(colours(carol.crop((0, 0, 150, layout.row_height - 2)))) > 2
    # The band behind the rows marks 15-20 s, when Alice and Bob are both on screen.
    assert pixel(17, 0, dy=3) == TOGETHER and pixel(17, 2, dy=3) == TOGETHER
    assert pixel(25, 0, dy=3) == BACKGROUND and pixel(45, 0, dy=3) == BACKGROUND
    # Each row's name is drawn in the label column, and the names differ.
    labels = [image.crop((0, layout.row_top(r), layout.label_width, layout.row_top(r + 1) - 1)) for r in range(3)]
    assert all(len(colours(label)) > 2 for label in labels)
    assert labels[0].tobytes() != labels[1].tobytes() != labels[2].tobytes()


def test_timeline_marks_a_lone_sighting_and_says_a_photo_has_none(tmp_path: Path) -> None:
    result = result_of([person("Alice", [(30, 30)])])
    image = Image.open(render_timeline(result, tmp_path / "t.png")).convert("RGB")
    layout = timeline_layout(result)
    assert rgb_at(image, (layout.x(30) + 1, layout.row_top(0) + layout.row_height // 2)) == PALETTE[0]
    with pytest.raises(ValueError, match="photo has no timeline"):
        render_timeline(result_of([person("Alice", [(0, 0)])], kind="image"), tmp_path / "p.png")


def test_together_spans_need_two_persons_at_once() -> None:
    alice, bob, carol = (person(n, s).appearances for n, s in [("A", [(0, 10)]), ("B", [(5, 15)]), ("C", [(12, 20)])])
    assert together_spans([alice, bob, carol]) == [(5, 10), (12, 15)]
    assert together_spans([alice]) == []
    assert together_spans([alice, person("D", [(10, 12)]).appearances]) == []  # touching is not together


# --- Keyframes -------------------------------------------------------------------------------

ALICE_BOX, STRANGER_BOX, BOB_BOX = (40, 140, 140, 240), (270, 140, 370, 240), (480, 140, 580, 240)


def three_faces(tmp_path: Path, names: tuple[str, str] = ("Alice", "Bob")) -> list[Path]:
    tmp_path.mkdir(exist_ok=True)
    photo = tmp_path / "scene.png"
    Image.new("RGB", (640, 360), (40, 40, 40)).save(photo)
    faces = [
        MomentFace(box=ALICE_BOX, name=names[0]),
        MomentFace(box=STRANGER_BOX),
        MomentFace(box=BOB_BOX, name=names[1]),
    ]
    result = result_of(
        [person(names[0], [(0, 0)]), person(names[1], [(0, 0)])], kind="image", moments=[Moment(time=0, faces=faces)]
    )
    return render_keyframes(photo, result, tmp_path / "out")


def pixels(image: Image.Image) -> list[RGB]:
    return [rgb_at(image, (x, y)) for y in range(image.height) for x in range(image.width)]


def highlight(pixel: RGB) -> bool:
    """The named boxes' yellow, as JPEG leaves it (its blue drifts most)."""
    return near(pixel[:2], BOX_COLOUR[:2], 50) and pixel[2] < 140


def light(pixel: RGB) -> bool:
    """The strangers' light grey outline."""
    return near(pixel, UNKNOWN_COLOUR, 50)


def runs(image: Image.Image, y: int, matches: Callable[[RGB], bool]) -> list[tuple[int, int]]:
    """Horizontal stretches of pixels that ``match`` along row ``y``: (first x, length)."""
    found: list[tuple[int, int]] = []
    for x in range(image.width):
        if matches(rgb_at(image, (x, y))):
            if found and found[-1][0] + found[-1][1] == x:
                found[-1] = (found[-1][0], found[-1][1] + 1)
            else:
                found.append((x, 1))
    return found


def test_a_moment_boxes_and_names_everyone_found_and_outlines_strangers(tmp_path: Path) -> None:
    (path,) = three_faces(tmp_path)
    assert path.name == "01-alice-bob.jpg"
    image = Image.open(path).convert("RGB")
    assert image.size == (640, 360)
    # Through the faces' middle: two highlighted boxes (four edges) and one light outline.
    middle = 190
    assert [x for x, _ in runs(image, middle, highlight)] == [40, 139, 480, 579]
    assert [x for x, _ in runs(image, middle, light)] == [270, 370]
    # Labels sit above the named boxes only, tall enough to read at 360p, holding dark text
    # as wide as the name and confidence.
    font = ImageFont.load_default(size=label_px(360))
    assert label_px(360) >= 16
    label_y = ALICE_BOX[1] - 2 - (label_px(360) // 2) - 4
    for box, text in ((ALICE_BOX, "Alice 90%"), (BOB_BOX, "Bob 90%")):
        label = image.crop((box[0], label_y - 6, box[0] + 200, label_y + 6))
        assert any(sum(p) < 150 for p in pixels(label)), text
        width = runs(image, ALICE_BOX[1] - 4, highlight)
        assert any(x == box[0] and length >= ImageDraw.Draw(image).textlength(text, font=font) for x, length in width)
    above_stranger = image.crop((STRANGER_BOX[0], label_y - 6, STRANGER_BOX[2], label_y + 6))
    assert all(near(p, (40, 40, 40), slack=30) for p in pixels(above_stranger))


def test_keyframe_labels_are_the_names_drawn(tmp_path: Path) -> None:
    short = Image.open(three_faces(tmp_path / "a", ("Al", "Bo"))[0]).convert("RGB")
    long = Image.open(three_faces(tmp_path / "b", ("Alexandra Maria", "Bo"))[0]).convert("RGB")
    y = ALICE_BOX[1] - 4
    assert runs(long, y, highlight)[0][1] > runs(short, y, highlight)[0][1] + 60
    bob = (BOB_BOX[0], 100, BOB_BOX[2], ALICE_BOX[1])
    assert short.crop(bob).tobytes() == long.crop(bob).tobytes()


def test_a_result_without_moments_still_draws_each_persons_keyframe(tmp_path: Path) -> None:
    """A remote backend's result has no moments: each found person's keyframe, alone."""
    photo = tmp_path / "scene.png"
    Image.new("RGB", (640, 360), (40, 40, 40)).save(photo)
    result = result_of(
        [person("Alice", [(0, 0)], ALICE_BOX), person("Bob", [(0, 0)], BOB_BOX), person("Carol", [])], kind="image"
    )
    paths = render_keyframes(photo, result, tmp_path / "out")
    assert [p.name for p in paths] == ["01-alice.jpg", "02-bob.jpg"]
    assert [[f.name for f in m.faces] for m in ReIDTool.keyframe_moments(result)] == [["Alice"], ["Bob"]]


# --- Moments ---------------------------------------------------------------------------------


def face(x: int) -> Face:
    return Face(box=(x, 10, x + 50, 60), score=0.9, descriptor=None)


def test_moments_merge_keyframes_that_already_show_everyone() -> None:
    a0, b0, u0, a1, b2 = face(0), face(100), face(200), face(0), face(100)
    frames = [FrameFaces(0, 0.0, [b0, a0, u0]), FrameFaces(1, 0.5, [a1]), FrameFaces(2, 1.0, [b2])]
    alice = Track([Sighting(0, 0.0, a0), Sighting(1, 0.5, a1)])
    bob = Track([Sighting(0, 0.0, b0), Sighting(2, 1.0, b2)])
    found = {"Alice": [Identified(alice, 0.3, alice.sightings[0])], "Bob": [Identified(bob, 0.3, bob.sightings[1])]}

    # Alice's keyframe (0 s) shows Bob too, so Bob's own (1 s) adds nobody: one moment.
    people = [person("Alice", [(0.0, 0.5)]), person("Bob", [(1.0, 1.0)])]
    (moment,) = keyframe_moments(frames, found, people)
    assert moment.time == 0.0
    assert [(f.box[0], f.name) for f in moment.faces] == [(0, "Alice"), (100, "Bob"), (200, None)]

    # Keyframes each showing one person stay apart, in time order.
    people = [person("Bob", [(1.0, 1.0)]), person("Alice", [(0.5, 0.5)])]
    moments = keyframe_moments(frames, found, people)
    assert [(m.time, [f.name for f in m.faces]) for m in moments] == [(0.5, ["Alice"]), (1.0, ["Bob"])]
    assert keyframe_moments(frames, found, [person("Carol", [])]) == []


def test_obama_and_biden_together_make_one_picture(shared_faces: Path, tmp_path: Path) -> None:
    photo = shared_faces / "two_people.jpg"
    result = engine.analyze(photo, {"Obama": [shared_faces / "obama.jpg"], "Biden": [shared_faces / "biden.jpg"]})
    (moment,) = result.moments
    assert [f.name for f in moment.faces] == ["Obama", "Biden"]
    (path,) = ReIDTool(ReIDSettings()).render_pictures(photo, result, tmp_path)
    assert path.name == "01-obama-biden.jpg"
    with Image.open(path) as image, Image.open(photo) as original:
        assert image.size == original.size


def test_video_pictures_are_the_timeline_then_a_keyframe_per_moment(
    two_people_clip: Path, photos, tmp_path: Path
) -> None:
    result = engine.analyze(two_people_clip, {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]})
    named = {f.name for m in result.moments for f in m.faces if f.name}
    assert named == {"Eileen", "Grace"}
    keyframe_times = {best.keyframe.time for p in result.found() if (best := p.best_appearance()) is not None}
    assert {m.time for m in result.moments} <= keyframe_times
    pictures = ReIDTool(ReIDSettings()).render_pictures(two_people_clip, result, tmp_path)
    assert pictures[0] == tmp_path / "timeline.png" and len(pictures) == 1 + len(result.moments)
    assert all(p.suffix == ".jpg" for p in pictures[1:])
    assert Image.open(pictures[0]).size == (timeline_layout(result).width, timeline_layout(result).height)
