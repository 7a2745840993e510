"""What a model that takes images is shown: the keyframes, with everyone found boxed and named,
then frames sampled evenly across a video, each downscaled and labelled with its time.

Pictures are drawn in memory and sent as ``data:`` URLs; nothing is written to disk. They show
people's faces: with a hosted model they leave this machine (``REID_CAPTION_IMAGES=false``
keeps them here).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tools.reid import engine
from tools.reid.schemas import ReIDResult
from tools.reid.wording import clock, names

MAX_KEYFRAMES = 4
"""Keyframes shown at most (the fullest moments come first); each found person has one."""
JPEG_QUALITY = 80


@dataclass(frozen=True)
class Picture:
    """One picture for the model and the line that introduces it."""

    label: str
    data_url: str


def pictures(media: Path, result: ReIDResult, frames: int, max_px: int) -> list[Picture]:
    """The keyframes, then ``frames`` frames sampled across a video (none for a photo, whose one
    frame is its keyframe or, when nobody was found, itself). The frames are decoded together."""
    moments = engine.drawn_moments(result)[:MAX_KEYFRAMES]
    video = result.media.kind == "video"
    samples = [(i + 0.5) * result.media.duration_s / frames for i in range(frames)] if video else []
    if not moments and not video:
        samples = [0.0]
    decoded = iter(engine.frames_at(media, [m.time for m in moments] + samples))
    confidence = {p.name: p.confidence for p in result.persons}
    shown = []
    for moment in moments:
        image = Image.fromarray(next(decoded))
        engine.draw_moment(image, moment, confidence)
        who = names([face.name for face in moment.faces if face.name])
        when = f" at {clock(moment.time)}" if video else ""
        label = f"Keyframe{when}, boxed and named by the face recognition: {who}"
        shown.append(Picture(label, _data_url(image, max_px)))
    for at in samples:
        label = f"Frame at {clock(at)}" if video else "The image"
        shown.append(Picture(label, _data_url(Image.fromarray(next(decoded)), max_px)))
    return shown


def _data_url(image: Image.Image, max_px: int) -> str:
    image = image.convert("RGB")
    image.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
