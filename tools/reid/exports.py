"""The appearances as files other programs read: CSV for spreadsheets, WebVTT for players.

A WebVTT file loaded as a subtitle track beside the footage shows, while someone found is on
screen, their name over the video (one cue per appearance; a player stacks cues that overlap).
Unknown people come after the found ones in the CSV (no confidence: nobody was matched; their
id in ``unknown_id``) and as "Person 1 (unknown)" cues.
"""

from __future__ import annotations

import csv
import io

from tools.reid.schemas import ReIDResult
from tools.reid.wording import place

CSV_COLUMNS = ("person", "start_s", "end_s", "confidence", "keyframe_s", "place", "unknown_id")
"""``place`` (left, centre, right) is filled for a photo, where times say nothing; ``unknown_id``
(``person-2``) for an unknown person's row."""
MIN_CUE_S = 1.0
"""A face seen in a single sampled frame still gets a cue a viewer can read."""


def appearances_csv(result: ReIDResult) -> str:
    """One row per appearance of a found person, times in seconds from the start."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    photo = result.media.kind == "image"
    for person in result.found():
        for a in person.appearances:
            where = place(a.keyframe.box, result.media.width) if photo else ""
            writer.writerow(
                (
                    person.name,
                    f"{a.start:.3f}",
                    f"{a.end:.3f}",
                    f"{a.confidence:.3f}",
                    f"{a.keyframe.time:.3f}",
                    where,
                    "",
                )
            )
    for unknown in result.unknown_people:
        for u in unknown.appearances:
            writer.writerow(
                (unknown.label, f"{u.start:.3f}", f"{u.end:.3f}", "", f"{u.keyframe.time:.3f}", "", unknown.id)
            )
    return out.getvalue()


def appearances_vtt(result: ReIDResult) -> str:
    """A WebVTT subtitle track naming each found person while they are on screen."""
    lines = ["WEBVTT", ""]
    if result.media.kind == "image":
        return "\n".join([*lines, "NOTE The media is a photo: there are no times to show.", ""])
    cues = sorted(
        [(a.start, a.end, p.name) for p in result.found() for a in p.appearances]
        + [(a.start, a.end, f"{u.label} (unknown)") for u in result.unknown_people for a in u.appearances]
    )
    for number, (start, end, name) in enumerate(cues, start=1):
        end = min(max(end, start + MIN_CUE_S), max(result.media.duration_s, start + MIN_CUE_S))
        lines += [str(number), f"{_timestamp(start)} --> {_timestamp(end)}", name, ""]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    """``hh:mm:ss.ttt``, WebVTT's cue time."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
