"""What is on screen in the real clips of ../shared/fixtures/footage, written down by eye, and
the scorer that compares an answer with it.

How the truth was built (2026-12-02): contact sheets of every 0.25 s of each clip (Pillow, never
committed), with YuNet run at a low score threshold (0.3, the frame upscaled 2x) drawing every
candidate box and its height; each box was named by eye from the person's clothes and place in
the line, boxes on clothes and walls were dropped, and faces the detector missed were looked
for by eye (none was frontal and >= 30 px). A boundary sits halfway between the two sheet
frames where a face appears or goes, so it is right to about 0.13 s.

``visible``: the face is on screen, at least 30 px tall (YuNet's box), frontal to three-quarter,
not hidden; this is what recall is measured on. ``present``: the person is on screen at all
(turned away, hidden behind someone, cut by the frame's edge); time claimed outside it is a
false claim. A person absent from a clip has no intervals: any time claimed for them is false.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.reid.schemas import PersonResult

Interval = tuple[float, float]


@dataclass(frozen=True)
class Truth:
    visible: tuple[Interval, ...]
    present: tuple[Interval, ...]


CORRIDOR_S = 8.53
CORRIDOR: dict[str, Truth] = {
    # First in line; frontal, 51-211 px, until she turns her head to her left at 3.5 s and
    # passes the camera (her cheek and ear at 3.77 s, her shoulder until 4.3 s).
    "Freda": Truth(visible=((0.0, 3.65),), present=((0.0, 4.4),)),
    # Second, on the right: 55-78 px until Freda covers him (2.77 s partly, 3.03-3.27 s
    # wholly), then 93-259 px until he leaves by the right edge after 5.53 s.
    "Atinkum": Truth(visible=((0.0, 2.65), (3.4, 5.65)), present=((0.0, 5.9),)),
    # Third, at the back between them: 51-59 px until 2.77 s, hidden behind Atinkum from 2.9 s
    # to 4.9 s, then 116-261 px until his face leaves the top-right corner after 6.26 s.
    "Prince": Truth(visible=((0.0, 2.9), (4.9, 6.4)), present=((0.0, 6.9),)),
    # Last: enters at the far end at ~5.6 s (29 px at 5.76 s, 33 px at 6.03 s) and walks up to
    # the camera, 198 px at the end.
    "Liz": Truth(visible=((5.9, CORRIDOR_S),), present=((5.6, CORRIDOR_S),)),
    "Musah": Truth(visible=(), present=()),
}

STREET_S = 4.2
STREET_WALKER = Truth(visible=((0.0, STREET_S),), present=((0.0, STREET_S),))
"""The man in the blue hoodie in the middle of the street, 89-130 px, frontal (looking down at
his phone from 2.5 s) the whole clip. Nobody else in the street is anyone known."""

CORRIDOR_FACES: dict[str, tuple[tuple[float, int, int, int], ...]] = {
    # (time s, left, top, height px) of each person's face on the contact sheets (YuNet's box,
    # named by eye); the calibration bench names the engine's faces by them.
    "Freda": (
        (0.00, 201, 183, 74),
        (0.27, 195, 179, 75),
        (0.53, 197, 177, 77),
        (0.77, 194, 179, 75),
        (1.03, 191, 193, 80),
        (1.27, 217, 232, 83),
        (1.53, 229, 254, 82),
        (1.77, 234, 274, 87),
        (2.03, 249, 277, 99),
        (2.27, 251, 277, 113),
        (2.53, 254, 297, 132),
        (2.77, 249, 287, 150),
        (3.03, 275, 304, 173),
        (3.27, 336, 305, 194),
        (3.53, 475, 317, 211),
    ),
    "Prince": (
        (0.00, 300, 102, 51),
        (0.27, 295, 96, 55),
        (0.53, 295, 94, 56),
        (0.77, 289, 94, 56),
        (1.03, 287, 107, 55),
        (1.27, 310, 148, 54),
        (1.53, 308, 176, 55),
        (1.77, 299, 195, 56),
        (2.03, 297, 204, 53),
        (2.27, 301, 205, 54),
        (2.53, 308, 205, 59),
        (2.77, 317, 199, 58),
        (5.03, 275, 170, 116),
        (5.26, 263, 134, 138),
        (5.53, 288, 130, 159),
        (5.76, 332, 105, 186),
        (6.03, 395, 40, 224),
        (6.26, 481, 13, 261),
    ),
    "Atinkum": (
        (0.00, 357, 129, 60),
        (0.27, 356, 124, 58),
        (0.53, 356, 125, 55),
        (0.77, 351, 125, 55),
        (1.03, 356, 137, 61),
        (1.27, 381, 177, 57),
        (1.53, 405, 209, 62),
        (1.77, 415, 218, 60),
        (2.03, 424, 230, 67),
        (2.27, 421, 230, 78),
        (2.53, 393, 227, 77),
        (2.77, 363, 244, 69),
        (3.53, 300, 242, 93),
        (3.77, 299, 216, 111),
        (4.03, 294, 216, 119),
        (4.26, 271, 217, 133),
        (4.53, 264, 192, 152),
        (4.76, 301, 199, 179),
        (5.03, 404, 163, 201),
        (5.26, 475, 132, 230),
        (5.53, 587, 178, 259),
    ),
    "Liz": (
        (5.76, 291, 294, 29),
        (6.03, 298, 299, 33),
        (6.26, 296, 285, 40),
        (6.53, 297, 287, 44),
        (6.76, 306, 286, 48),
        (7.03, 306, 281, 60),
        (7.26, 325, 290, 69),
        (7.53, 334, 303, 87),
        (7.76, 354, 287, 116),
        (8.03, 383, 289, 153),
        (8.26, 399, 274, 198),
    ),
}


def corridor_person_at(time_s: float, box: tuple[int, int, int, int]) -> str | None:
    """Whose face a box of the corridor clip is, by the sheets' faces: one of the same size
    within half a face of it at a sheet frame within 0.14 s; None for any other box."""
    centre_x, centre_y, height = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[3] - box[1]
    for name, faces in CORRIDOR_FACES.items():
        for t, left, top, h in faces:
            near = abs(centre_x - (left + 0.45 * h)) + abs(centre_y - (top + 0.5 * h)) <= 0.5 * h
            if abs(t - time_s) <= 0.14 and near and 1 / 1.5 <= height / h <= 1.5:
                return name
    return None


STEP_S = 0.01


@dataclass(frozen=True)
class Score:
    recall: float
    """Share of the visible time the answer covers; 1.0 when nothing is visible."""
    false_s: float
    """Seconds claimed where the person is not on screen."""


def covered(person: PersonResult, sample_period_s: float) -> list[Interval]:
    """The time an answer claims: each appearance, widened by half a sample period at both
    ends (a sampled frame stands for the time until the next one)."""
    half = sample_period_s / 2
    return [(a.start - half, a.end + half) for a in person.appearances]


def _mask(intervals: tuple[Interval, ...] | list[Interval], grid: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(grid), dtype=bool)
    for start, end in intervals:
        inside |= (grid >= start) & (grid < end)
    return inside


def score(person: PersonResult, truth: Truth, duration_s: float, sample_period_s: float) -> Score:
    grid = np.arange(0.0, duration_s, STEP_S)
    claimed = _mask(covered(person, sample_period_s), grid)
    visible = _mask(truth.visible, grid)
    present = _mask(truth.present, grid)
    recall = float((claimed & visible).sum() / visible.sum()) if visible.any() else 1.0
    return Score(recall=round(recall, 3), false_s=round(float((claimed & ~present).sum()) * STEP_S, 2))
