"""A result as a person reads it in a terminal: a table of persons, then the caption."""

from __future__ import annotations

from tools.reid.schemas import Box, PersonResult, ReIDResult, TokenUsage


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour), as people read video times."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def span(start: float, end: float) -> str:
    """``m:ss–m:ss``, or one time when both round to the same second."""
    return clock(start) if clock(start) == clock(end) else f"{clock(start)}–{clock(end)}"


def duration(seconds: float) -> str:
    """How long someone is on screen, rounded the same way on every surface: ``6.5 s`` under
    ten seconds (a tenth matters there), ``18 s`` under a minute, ``2 min 5 s`` beyond."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def names(items: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def count(n: int, noun: str) -> str:
    """``1 face``, ``2 faces``: a number with its noun agreeing."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def place(box: Box, width: int) -> str:
    """Where a face is across a photo: ``left``, ``centre`` or ``right`` third."""
    x = (box[0] + box[2]) / 2 / max(width, 1)
    return "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"


def byte_size(n: int) -> str:
    """A size as people read it in a limit message: ``1.5 GiB``, ``12.0 MiB``, ``800 bytes``."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def table(result: ReIDResult) -> str:
    rows = [("Person", "Found", "Confidence", "On screen", "Where" if result.media.kind == "image" else "When")]
    rows += [_row(person, result.media.kind, result.media.width) for person in result.persons]
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
