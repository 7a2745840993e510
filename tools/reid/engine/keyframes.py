"""Annotated keyframes: one JPEG per keyframe moment, everyone found there boxed and named.

Frames are decoded again from the media at the moment times, so analysis never keeps frames
in memory however long the video is. Faces nobody matched get a thin light outline and no
name, so "who else was there" is visible. Labels are sized to the frame's height, readable
in a 360p frame.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tools.reid.engine.decode import frame_at
from tools.reid.schemas import Moment, MomentFace, ReIDResult
from tools.reid.wording import clock

BOX_COLOUR = (255, 196, 0)
UNKNOWN_COLOUR = (235, 235, 235)
LABEL_TEXT = (0, 0, 0)
JPEG_QUALITY = 88
MIN_LABEL_PX = 16
"""Smallest label text height: readable at 360p, the smallest footage we expect."""


def render_keyframes(media: Path, result: ReIDResult, out_dir: Path) -> list[Path]:
    """Writes ``NN-names.jpg`` into ``out_dir`` for each moment of ``result``; returns the paths.

    Args:
        media: the local file that was analysed.
        result: its result; without ``moments`` (a remote backend), each found person's best
            keyframe is drawn alone.
        out_dir: created when missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    confidence = {p.name: p.confidence for p in result.persons}
    written = []
    for number, moment in enumerate(drawn_moments(result), start=1):
        image = Image.fromarray(frame_at(media, moment.time))
        draw_moment(image, moment, confidence)
        if result.media.kind == "video":
            _label(image, clock(moment.time), x=0, above=0, below=0)
        names = [face.name for face in moment.faces if face.name]
        path = out_dir / f"{number:02d}-{_slug('-'.join(names))}.jpg"
        image.save(path, "JPEG", quality=JPEG_QUALITY)
        written.append(path)
    return written


def draw_moment(image: Image.Image, moment: Moment, confidence: dict[str, float]) -> None:
    """Outlines the unknown faces, then boxes and names the found persons over them."""
    draw = ImageDraw.Draw(image)
    for face in moment.faces:
        if face.name is None:
            draw.rectangle(face.box, outline=UNKNOWN_COLOUR, width=max(1, image.height // 360))
    for face in moment.faces:
        if face.name is not None:
            draw.rectangle(face.box, outline=BOX_COLOUR, width=max(2, image.height // 180))
            _label(image, f"{face.name} {confidence.get(face.name, 0.0):.0%}", face.box[0], face.box[1], face.box[3])


def label_px(height: int) -> int:
    """Label text height in pixels for a frame ``height`` pixels high."""
    return max(MIN_LABEL_PX, height // 24)


def _label(image: Image.Image, text: str, x: int, above: int, below: int) -> None:
    """A filled label starting at ``x``, ending above the line ``above``, or starting under the
    line ``below`` when there is no room above (pixels)."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=label_px(image.height))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = right - left + 8, bottom - top + 8
    x = min(max(0, x), max(0, image.width - round(width)))
    y = above - height - 2 if above - height - 2 >= 0 else below + 2
    y = min(y, max(0, image.height - height))
    draw.rectangle((x, y, x + width, y + height), fill=BOX_COLOUR)
    draw.text((x + 4 - left, y + 4 - top), text, fill=LABEL_TEXT, font=font)


def drawn_moments(result: ReIDResult) -> list[Moment]:
    """The moments `render_keyframes` draws, in its order (a surface titles each picture by the
    names in it): the result's moments, or, for a result without them, each found person's best
    keyframe with only their own face."""
    if result.moments:
        return result.moments
    moments = []
    for person in result.found():
        best = person.best_appearance()
        if best is not None:
            moments.append(Moment(time=best.keyframe.time, faces=[MomentFace(box=best.keyframe.box, name=person.name)]))
    return moments


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "moment"
