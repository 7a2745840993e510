"""How every surface words times, durations, counts, lists of names, sizes and invalid fields.

The terminal table, the Slack answer, the caption, the keyframe labels, fetch's limit messages,
the service's 0001 answers, the CLI and the agent tool all say these things the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.reid.schemas import Box


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


def names(items: Sequence[str]) -> str:
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


def validation_problems(errors: Sequence[Any], prefix: str = "") -> str:
    """Pydantic's errors in a sentence, each naming its field (``persons[0].url is required``),
    at most three and then how many more; ``prefix`` names the object they are in."""
    parts = [_problem(error, prefix).rstrip(".") for error in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _problem(error: Any, prefix: str) -> str:
    if error["type"] == "json_invalid":
        return f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})"
    path = [prefix] if prefix else []
    for part in error["loc"]:
        if part == "body":
            continue
        if isinstance(part, int):
            path[-1:] = [f"{path[-1] if path else ''}[{part}]"]
        else:
            path.append(str(part))
    field = ".".join(path)
    if error["type"] == "missing":
        return f"{field} is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message
