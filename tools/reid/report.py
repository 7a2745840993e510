"""A result as a person reads it in a terminal: a table of persons, then the caption."""

from __future__ import annotations

from tools.reid.schemas import PersonResult, ReIDResult


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour), as people read video times."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def span(start: float, end: float) -> str:
    """``m:ss–m:ss``, or one time when both round to the same second."""
    return clock(start) if clock(start) == clock(end) else f"{clock(start)}–{clock(end)}"


def byte_size(n: int) -> str:
    """A size as people read it in a limit message: ``1.5 GiB``, ``12.0 MiB``, ``800 bytes``."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def table(result: ReIDResult) -> str:
    rows = [("Person", "Found", "Confidence", "On screen", "When")]
    rows += [_row(person, result.media.kind) for person in result.persons]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _row(person: PersonResult, kind: str) -> tuple[str, str, str, str, str]:
    if not person.found:
        return (person.name, "no", "-", "-", "-")
    if kind == "image":
        box = person.appearances[0].keyframe.box
        return (person.name, "yes", f"{person.confidence:.0%}", "-", f"box {list(box)}")
    when = ", ".join(span(a.start, a.end) for a in person.appearances)
    return (person.name, "yes", f"{person.confidence:.0%}", f"{person.total_s:.1f} s", when)


def summary(result: ReIDResult) -> str:
    stats = result.stats
    return (
        f"{stats.frames_analysed} frames analysed of {stats.frames_decoded} decoded, "
        f"{stats.faces_detected} faces, {stats.wall_s:.1f} s"
    )
