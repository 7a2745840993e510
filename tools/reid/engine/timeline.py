"""The timeline picture: who is on screen when, drawn from a video's result alone.

One row per person looked for, a bar per appearance on the media's time axis (m:ss), "not
found" in the row of a person who never appears, and a shaded band where two or more found
persons are on screen together. 1200 pixels wide, so Slack's preview (about 360 pixels high)
still reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tools.reid.schemas import Appearance, ReIDResult
from tools.reid.wording import clock

BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
FAINT = (150, 150, 150)
RULE = (224, 224, 224)
TOGETHER = (255, 232, 150)
"""The band behind the rows where several found persons overlap."""
PALETTE = ((0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233))
"""Okabe-Ito colours, one per row: told apart with the common colour-vision deficiencies."""
UNKNOWN_BAR = (120, 120, 120)
"""Unknown people's bars are grey: nobody asked for them."""
Font = ImageFont.ImageFont | ImageFont.FreeTypeFont
"""What ``ImageFont.load_default`` returns: FreeType when Pillow has it, else the bitmap font."""
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_TICKS = 10
MIN_BAR_PX = 3
"""A face seen in a single sampled frame still shows as a bar."""


@dataclass(frozen=True)
class TimelineLayout:
    """Where things go, in pixels; the drawing and its tests share it."""

    duration_s: float
    rows: int
    width: int = 1200
    label_width: int = 220
    right_margin: int = 40
    top: int = 60
    row_height: int = 48
    bar_padding: int = 10
    bottom: int = 70

    @property
    def height(self) -> int:
        return self.top + self.rows * self.row_height + self.bottom

    @property
    def axis_y(self) -> int:
        return self.top + self.rows * self.row_height

    def x(self, seconds: float) -> int:
        """The x of a media time (s)."""
        plot = self.width - self.label_width - self.right_margin
        return self.label_width + round(plot * min(max(seconds, 0.0), self.duration_s) / self.duration_s)

    def row_top(self, row: int) -> int:
        return self.top + row * self.row_height

    def bar(self, row: int, start: float, end: float) -> tuple[int, int, int, int]:
        """The box of an appearance bar: ``[left, top, right, bottom]``."""
        left = self.x(start)
        right = max(self.x(end), left + MIN_BAR_PX)
        top = self.row_top(row) + self.bar_padding
        return (left, top, right, top + self.row_height - 2 * self.bar_padding)


def timeline_layout(result: ReIDResult, unknown: bool = False) -> TimelineLayout:
    """The layout of ``result``'s timeline; with ``unknown``, a row per unknown person follows
    the persons looked for.

    Raises:
        ValueError: the result is a photo's, which has no time axis (its picture is the
            annotated photo).
    """
    if result.media.kind != "video" or result.media.duration_s <= 0:
        raise ValueError("A photo has no timeline; its picture is the annotated photo (render_keyframes).")
    return TimelineLayout(duration_s=result.media.duration_s, rows=len(timeline_rows(result, unknown)))


def timeline_rows(result: ReIDResult, unknown: bool = False) -> list[tuple[str, list[tuple[float, float]] | None]]:
    """(label, spans) per row: the persons looked for (spans None when not found), then with
    ``unknown`` each unknown person, labelled as such."""
    rows: list[tuple[str, list[tuple[float, float]] | None]] = [
        (p.name, [(a.start, a.end) for a in p.appearances] if p.found else None) for p in result.persons
    ]
    if unknown:
        rows += [(f"{u.label} (unknown)", [(a.start, a.end) for a in u.appearances]) for u in result.unknown_people]
    return rows


def timeline_image(result: ReIDResult, unknown: bool = False) -> Image.Image:
    """The timeline of a video's result, as an RGB image; ``unknown`` adds the unknown people's rows."""
    layout = timeline_layout(result, unknown)
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title = ImageFont.load_default(size=24)
    text = ImageFont.load_default(size=20)
    draw.text((16, 18), f"Who is on screen when, in the {clock(layout.duration_s)} video", fill=INK, font=title)
    together = together_spans([p.appearances for p in result.found()])
    for start, end in together:
        draw.rectangle((layout.x(start), layout.top, layout.x(end), layout.axis_y - 1), fill=TOGETHER)
    persons = len(result.persons)
    for row, (label, spans) in enumerate(timeline_rows(result, unknown)):
        top = layout.row_top(row)
        draw.line((0, top + layout.row_height - 1, layout.width, top + layout.row_height - 1), fill=RULE)
        middle = top + layout.row_height // 2
        draw.text((16, middle), _fit(draw, label, text, layout.label_width - 24), fill=INK, font=text, anchor="lm")
        if spans is None:
            draw.text((layout.x(0) + 8, middle), "not found", fill=FAINT, font=text, anchor="lm")
        colour = PALETTE[row % len(PALETTE)] if row < persons else UNKNOWN_BAR
        for start, end in spans or []:
            draw.rectangle(layout.bar(row, start, end), fill=colour)
    _axis(draw, layout, text)
    if together:
        legend_y = layout.axis_y + 52
        draw.rectangle((layout.label_width, legend_y - 8, layout.label_width + 28, legend_y + 8), fill=TOGETHER)
        draw.text((layout.label_width + 36, legend_y), "on screen together", fill=INK, font=text, anchor="lm")
    return image


def render_timeline(result: ReIDResult, path: Path, unknown: bool = False) -> Path:
    """Writes the timeline of a video's result as a PNG at ``path``; returns it. ``unknown``
    adds a row per unknown person.

    Raises:
        ValueError: the result is a photo's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    timeline_image(result, unknown).save(path, "PNG")
    return path


def together_spans(appearances: list[list[Appearance]]) -> list[tuple[float, float]]:
    """The spans (s) where appearances of two or more of the given persons overlap."""
    events = sorted((t, step) for items in appearances for a in items for t, step in ((a.start, 1), (a.end, -1)))
    spans: list[tuple[float, float]] = []
    count, opened = 0, 0.0
    for time, step in events:
        if count + step >= 2 > count:
            opened = time
        elif count >= 2 > count + step and time > opened:
            spans.append((opened, time))
        count += step
    return spans


def _axis(draw: ImageDraw.ImageDraw, layout: TimelineLayout, font: Font) -> None:
    y = layout.axis_y
    draw.line((layout.x(0), y, layout.x(layout.duration_s), y), fill=INK, width=2)
    step = next((s for s in TICK_STEPS_S if layout.duration_s / s <= MAX_TICKS), TICK_STEPS_S[-1])
    tick = 0.0
    while tick <= layout.duration_s + 1e-9:
        draw.line((layout.x(tick), y, layout.x(tick), y + 6), fill=INK, width=2)
        draw.text((layout.x(tick), y + 10), clock(tick), fill=INK, font=font, anchor="mt")
        tick += step


def _fit(draw: ImageDraw.ImageDraw, name: str, font: Font, width: int) -> str:
    """The name, shortened with an ellipsis to fit ``width`` pixels."""
    shown = name
    while len(shown) > 1 and draw.textlength(shown, font=font) > width:
        shown = shown[:-1]
    return shown if shown == name else shown[:-1] + "…"
