"""The check a model's caption must pass before it is used: it may say more than the findings
(what the pictures show), never other than them.

* every person found is named (by the name they were searched for);
* a person not found is named only in a clause that denies it ("Bob was not found");
* every time (``m:ss``) or interval (``m:ss–m:ss``) in a clause that names found people lies
  where one of them is on screen, and any other time or amount of time lies within the media.

Times are compared with `TOLERANCE_S` of slack: the findings are sampled and the captions
round to whole seconds. The check reads clauses (sentences, split again at "but", "while",
";"), so "Alice appears at 0:03, but Bob is not in the video" is judged part by part. It is
deliberately strict: a caption it wrongly refuses costs only the template in its place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tools.reid.captions.facts import unknown_people
from tools.reid.schemas import ReIDResult, printable
from tools.reid.wording import clock, names, span

TOLERANCE_S = 1.5
"""Slack on stated times: half a second of rounding, a second of sampling (2 frames a second)."""

Span = tuple[float, float]

_CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:\.\d+)?"
_RANGE = re.compile(
    rf"(?<![\d:.])({_CLOCK})\s*(?:–|—|-|\bto\b|\buntil\b|\btill\b|\bthrough\b|\band\b)\s*({_CLOCK})(?![\d:])"
)
_POINT = re.compile(rf"(?<![\d:.])({_CLOCK})(?![\d:])")
_AMOUNT = re.compile(
    r"(?:\b(at|from|until|till|after|since|around|by|to|before)\s+)?(?<![\d.:])(\d+(?:\.\d+)?)\s*"
    r"(hours?|hrs?|minutes?|mins?|seconds?|secs?|s)\b",
    re.IGNORECASE,
)
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nobody|absent|without|missing|unable|cannot)\b|n't\b", re.IGNORECASE
)
_CLAUSES = re.compile(r"(?<=[.!?])\s+|[\n;]+|\s+(?:but|while|whereas|although|though|however)\b", re.IGNORECASE)
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def clean(text: str) -> str:
    """The caption without a reasoning model's ``<think>…</think>`` block, on one line, without
    control characters (it is printed in terminals and Slack, as names are)."""
    return printable(_THINKING.sub("", text))


def problems(text: str, result: ReIDResult) -> list[str]:
    """What in ``text`` contradicts ``result``, each as a phrase ("it does not name Alice, who
    was found"); empty when the caption may be used."""
    if not text.strip():
        return ["it is empty"]
    found = {p.name: [(a.start, a.end) for a in p.appearances] for p in result.found()}
    missing = [p.name for p in result.persons if not p.found]
    others = {u["label"]: [(a["start_s"], a["end_s"]) for a in u["appearances"]] for u in unknown_people(result)}
    media_span = (0.0, result.media.duration_s)
    wrong: list[str] = []
    named_anywhere: set[str] = set()
    for clause in _CLAUSES.split(text):
        present = _named(clause, [*found, *missing, *others])
        named_anywhere |= present
        wrong += [
            f"it says {name} is there, but {name} was not found"
            for name in missing
            if name in present and not _NEGATION.search(clause)
        ]
        who = [name for name in present if name in found or name in others]
        spans = [s for name in who for s in (found.get(name) or others[name])] if who else [media_span]
        wrong += _times(clause, who, spans, media_span)
    wrong += [f"it does not name {name}, who was found" for name in found if name not in named_anywhere]
    return list(dict.fromkeys(wrong))


def _named(clause: str, people: Iterable[str]) -> set[str]:
    """The names ``clause`` mentions, whole words, any case; a name inside a longer name (Bob in
    Bob Smith) counts only where the longer one is not written."""
    left, named = clause, set()
    for name in sorted(people, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
        if pattern.search(left):
            named.add(name)
            left = pattern.sub(" ", left)
    return named


def _times(clause: str, who: Sequence[str], spans: Sequence[Span], media: Span) -> list[str]:
    wrong = []
    whose = f"{names(list(who))} {'is' if len(who) == 1 else 'are'} on screen" if who else "the media lasts"
    where = names([span(s, e) for s, e in _merged(spans)]) or "never"
    for match in _RANGE.finditer(clause):
        start, end = _seconds(match.group(1)), _seconds(match.group(2))
        if not _covered(min(start, end), max(start, end), spans):
            wrong.append(f"it states {match.group(0)}, but {whose} {where}")
    rest = _RANGE.sub(" ", clause)
    for match in _POINT.finditer(rest):
        at = _seconds(match.group(1))
        if not _covered(at, at, spans):
            wrong.append(f"it states {match.group(1)}, but {whose} {where}")
    for match in _AMOUNT.finditer(_POINT.sub(" ", rest)):
        amount = float(match.group(2)) * _UNIT_S[match.group(3)[0].lower()]
        point = match.group(1) is not None
        if point and not _covered(amount, amount, spans):
            wrong.append(f"it states {match.group(0).strip()}, but {whose} {where}")
        elif not point and amount > media[1] + TOLERANCE_S:
            wrong.append(f"it states {match.group(0).strip()}, more than the media's {clock(media[1])}")
    return wrong


def _seconds(text: str) -> float:
    value = 0.0
    for part in text.split(":"):
        value = value * 60 + float(part)
    return value


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Spans joined where they touch within the tolerance, in time order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 2 * TOLERANCE_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covered(start: float, end: float, spans: Iterable[Span]) -> bool:
    return any(s - TOLERANCE_S <= start and end <= e + TOLERANCE_S for s, e in _merged(spans))
