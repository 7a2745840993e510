"""Annotated keyframes: one JPEG per found person, the face boxed and named.

Frames are decoded again from the media at the keyframe times, so analysis never keeps
frames in memory however long the video is.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tools.reid.engine.decode import frame_at
from tools.reid.report import clock
from tools.reid.schemas import ReIDResult

BOX_COLOUR = (255, 196, 0)
JPEG_QUALITY = 88


def render_keyframes(media: Path, result: ReIDResult, out_dir: Path) -> list[Path]:
    """Writes ``NN-name.jpg`` into ``out_dir`` for each found person; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, person in enumerate(result.found(), start=1):
        best = person.best_appearance()
        if best is None:
            continue
        image = Image.fromarray(frame_at(media, best.keyframe.time))
        label = f"{person.name} {person.confidence:.0%}"
        if result.media.kind == "video":
            label += f" @ {clock(best.keyframe.time)}"
        _draw_box(image, best.keyframe.box, label)
        path = out_dir / f"{number:02d}-{_slug(person.name)}.jpg"
        image.save(path, "JPEG", quality=JPEG_QUALITY)
        written.append(path)
    return written


def _draw_box(image: Image.Image, box: tuple[int, int, int, int], label: str) -> None:
    draw = ImageDraw.Draw(image)
    thickness = max(2, image.height // 200)
    draw.rectangle(box, outline=BOX_COLOUR, width=thickness)
    font = ImageFont.load_default(size=max(12, image.height // 30))
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    x = min(max(0, box[0]), max(0, image.width - (right - left) - 6))
    y = box[1] - (bottom - top) - 8 if box[1] - (bottom - top) - 8 >= 0 else box[3] + 2
    draw.rectangle((x, y, x + right - left + 6, y + bottom - top + 6), fill=BOX_COLOUR)
    draw.text((x + 3 - left, y + 3 - top), label, fill=(0, 0, 0), font=font)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "person"
