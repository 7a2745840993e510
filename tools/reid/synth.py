"""Synthetic footage from photos that ship inside installed packages.

scikit-image's astronaut (Eileen Collins) and matplotlib's Grace Hopper are public-domain
portraits; moving them over a plain background makes clips whose truth is known to the
frame, for the demo, the tests and the benchmarks. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

Position = Callable[[float], tuple[float, float, float]]
"""t (seconds since entering) -> (centre x, centre y as fractions of the frame, height as a fraction)."""


def astronaut() -> Image.Image:
    """Eileen Collins, 512x512 (scikit-image's ``data.astronaut``)."""
    from skimage import data

    return Image.fromarray(data.astronaut())


def grace_hopper() -> Image.Image:
    """Grace Hopper, 512x600 (matplotlib's sample data)."""
    import matplotlib.cbook

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
        return image.convert("RGB")


def astronaut_portrait() -> Image.Image:
    """Head and shoulders of the astronaut, mirrored, so footage differs from the reference."""
    return astronaut().crop((110, 10, 350, 300)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def hopper_portrait() -> Image.Image:
    return grace_hopper().crop((90, 60, 450, 460)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def still(x: float, y: float = 0.5, height: float = 0.6) -> Position:
    return lambda _t: (x, y, height)


def glide(x0: float, x1: float, seconds: float, y: float = 0.5, height: float = 0.6) -> Position:
    """Moves across the frame from x0 to x1 over ``seconds``."""
    return lambda t: (x0 + (x1 - x0) * min(1.0, t / seconds), y, height)


def shrink(h0: float, h1: float, seconds: float, x: float = 0.5) -> Position:
    """Walks away from the camera: the face shrinks from h0 to h1 of the frame height."""
    return lambda t: (x, 0.5, h0 + (h1 - h0) * min(1.0, t / seconds))


@dataclass(frozen=True)
class Actor:
    portrait: Image.Image
    enter_s: float
    leave_s: float
    position: Position
    tilt: Callable[[float], float] = lambda _t: 0.0
    """In-plane rotation in degrees, as a head tilting."""


def write_clip(
    path: Path,
    actors: Sequence[Actor],
    duration_s: float,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    rotation: int = 0,
    background: tuple[int, int, int] = (52, 58, 66),
    cuts: Sequence[tuple[float, tuple[int, int, int]]] = (),
) -> Path:
    """Writes an H.264 MP4 of the actors over a plain background.

    With ``rotation`` (90, 180, 270) the pixels are stored turned and the display matrix
    says how to turn them back, as phones record. ``cuts`` are (time, background) pairs:
    from that time on the background changes at once, as at a cut to another shot.
    """
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        stored = (height, width) if rotation % 180 else (width, height)
        stream.width, stream.height = stored
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if rotation:
            stream.set_display_rotation(rotation)
        for n in range(round(duration_s * fps)):
            t = n / fps
            shown = next((colour for at, colour in sorted(cuts, reverse=True) if t >= at), background)
            canvas = Image.new("RGB", size, shown)
            for actor in actors:
                if actor.enter_s <= t < actor.leave_s:
                    _place(canvas, actor, t - actor.enter_s)
            pixels = np.asarray(canvas)
            if rotation:
                pixels = np.ascontiguousarray(np.rot90(pixels, k=-(rotation // 90)))
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _place(canvas: Image.Image, actor: Actor, t: float) -> None:
    cx, cy, rel_height = actor.position(t)
    target_h = max(8, round(canvas.height * rel_height))
    target_w = max(8, round(actor.portrait.width * target_h / actor.portrait.height))
    sprite = actor.portrait.resize((target_w, target_h), Image.Resampling.BILINEAR)
    angle = actor.tilt(t)
    if angle:
        sprite = sprite.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(52, 58, 66))
    canvas.paste(sprite, (round(cx * canvas.width - sprite.width / 2), round(cy * canvas.height - sprite.height / 2)))
