"""A result as a person reads it in a terminal: a table of persons, then the caption."""

from __future__ import annotations

from collections.abc import Sequence

from tools.reid.schemas import PersonResult, ReIDResult, TokenUsage
from tools.reid.wording import count, duration, place, span


def table(result: ReIDResult) -> str:
    """The persons looked for, then (when there are any) the unknown people seen repeatedly."""
    rows = [("Person", "Found", "Confidence", "On screen", "Where" if result.media.kind == "image" else "When")]
    rows += [_row(person, result.media.kind, result.media.width) for person in result.persons]
    text = _columns(rows)
    if result.unknown_people:
        others = [("Unknown", "Id", "On screen", "When")]
        others += [
            (u.label, u.id, duration(u.total_s), ", ".join(span(a.start, a.end) for a in u.appearances))
            for u in result.unknown_people
        ]
        text += "\n\n" + _columns(others)
    return text


def _columns(rows: Sequence[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns under a ruled header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _row(person: PersonResult, kind: str, width: int) -> tuple[str, str, str, str, str]:
    if not person.found:
        return (person.name, "no", "-", "-", "-")
    if kind == "image":
        return (person.name, "yes", f"{person.confidence:.0%}", "-", place(person.appearances[0].keyframe.box, width))
    when = ", ".join(span(a.start, a.end) for a in person.appearances)
    return (person.name, "yes", f"{person.confidence:.0%}", duration(person.total_s), when)


def tokens(usage: TokenUsage) -> str:
    """``210 input + 92 output = 302 tokens``."""
    return f"{usage.input} input + {usage.output} output = {count(usage.total, 'token')}"


def caption_note(result: ReIDResult) -> str | None:
    """Who wrote the caption, what it cost and what went wrong, in one line for every surface;
    None for the template when no model was asked (nothing to say)."""
    info, spent = result.caption, f" ({tokens(result.token)})" if result.token.total else ""
    if info.writer == "model":
        warning = f"; {info.warning}" if info.warning else ""
        return f"Caption written by {info.model}, checked against the findings{spent}{warning}."
    if info.writer == "remote":
        return f"Caption written by the remote API{spent}." if spent else None
    if info.warning:
        return f"Caption built from the findings, because {info.warning}{spent}."
    return None


def summary(result: ReIDResult) -> str:
    stats = result.stats
    return (
        f"{count(stats.frames_analysed, 'frame')} analysed of {stats.frames_decoded} decoded, "
        f"{count(stats.faces_detected, 'face')}, {stats.wall_s:.1f} s"
    )
