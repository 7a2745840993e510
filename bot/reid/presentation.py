"""Presentation: what the bot says, as Block Kit. No Slack calls here, only messages (the modal is `bot.reid.modal`).

Every message carries top-level ``text`` beside its blocks (notifications and screen readers read
it), user-provided strings are escaped, and blocks stay inside Slack's limits (50 blocks, 3,000
characters a section).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.reid.submission import Submission
from tools.reid.report import caption_note
from tools.reid.schemas import MAX_PERSONS, Moment, PersonResult, ReIDResult, UnknownPerson
from tools.reid.wording import clock, count, duration, names, span

Block = dict[str, Any]

SECTION_CHARS = 3000
MAX_BLOCKS = 50
HEADER_CHARS = 150
MAX_RANGES = 8
"""Appearances the answer lists per person; the rest are "+N more", and "Show every appearance" lists them all."""
APPEARANCES_BUTTON = "reid_show_appearances"
LOOK_AGAIN_BUTTON = "reid_look_again"
"""action_ids of the answer's buttons; their value is the request id."""
NAME_UNKNOWN = "reid_name_unknown"
FIND_UNKNOWN = "reid_find_unknown"
"""action_ids of an unknown person's buttons; their value is ``request_id:person-N`` (`unknown_value`)."""
MAX_UNKNOWN_SHOWN = 5
"""Unknown people the answer shows, longest on screen first; the rest are counted."""
PICTURES_COMMENT = "Who appears when, and the moments they were seen:"

REMEMBER_BUTTON = "remember_person"
"""action_id of "Remember NAME" on an answer (value ``request_id:name``): opens the enrolment modal
with the name filled in, the search's photos of them used unless others are added."""
MAX_REMEMBER_BUTTONS = 5

HOW_TO = (
    "*How to ask me*\n"
    "• Upload the video (or a photo to search) and a photo of each person's face in one message, and mention me, "
    "optionally with a question: `@ReID is Alice in this clip?`\n"
    "• I name each person after their photo (`alice.jpg` → Alice); to choose the name, write `Alice=IMG_0042.jpg` "
    'or `"Grace Hopper"=gh.jpg`.\n'
    f"• Up to {MAX_PERSONS} people at once; videos (MP4, MOV, WebM, …) and photos (JPEG, PNG, …).\n"
    "• Or type `/reid` for a form, or choose *Find people in this footage* in a message's ⋯ menu.\n"
    "• Enrol people once with `/reid remember`, then name them without photos: `@ReID is Alice here?`, or "
    "`@ReID anyone enrolled?`; `/reid people` lists them, admins use `/reid forget NAME` and `/reid audit`.\n"
    "• In a direct message to me, no mention is needed."
)


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        """The ``text`` and ``blocks`` arguments of chat.postMessage and chat.update."""
        return {"text": self.text, "blocks": self.blocks}


# --- Building blocks --------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's mrkdwn treats ``&``, ``<`` and ``>`` as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(mrkdwn)}}


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(mrkdwn)}]}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(_clip(text, HEADER_CHARS))}


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _what(submission: Submission) -> str:
    return f"{names(submission.names())} in {submission.footage.name}"


# --- Help, refusals, problems -----------------------------------------------------------------


def help_message() -> Message:
    return Message(HOW_TO.replace("*", ""), [_section(HOW_TO)])


def incomplete_message(problem: str) -> Message:
    """A request the bot cannot run: the problem first, then how to ask."""
    return Message(
        f"{problem} Mention me with `help` to see how to ask.",
        [_section(f":warning: {escape(problem)}"), _context(HOW_TO)],
    )


def refusal_text() -> str:
    return "Sorry, I'm not enabled for you here. Ask a workspace admin if you need to search footage in this channel."


def not_invited_text(channel: str) -> str:
    return (
        f"I can only answer in channels I'm a member of. Invite me to <#{channel}> with `/invite @ReID`, "
        "then ask again."
    )


def error_message(problem: str) -> Message:
    """A request that failed on its input: the ReIDError's message says what to change."""
    return Message(f"I couldn't finish: {problem}", [_section(f":x: {escape(problem)}")])


def apology_message(reference: str) -> Message:
    text = (
        f"Sorry, something went wrong on my side and I couldn't finish this search (reference {reference}). "
        "Try again in a while; if it happens again, give the reference to the bot's admin."
    )
    return Message(text, [_section(f":x: {text}")])


# --- The thread: parent message, status, result -----------------------------------------------


def parent_message(submission: Submission) -> Message:
    """The /reid request's message in the channel; its thread holds the answer."""
    text = f"<@{submission.user}> asked me to look for {escape(_what(submission))}."
    if submission.prompt:
        text += f"\n> {escape(submission.prompt)}"
    return Message(text, [_section(text)])


def status_message(submission: Submission, note: str) -> Message:
    """The one status message of a request, updated as it progresses."""
    looking = "Looking again, less strictly," if submission.looser_than is not None else "Looking"
    text = f":mag: {looking} for {escape(_what(submission))}: {note}"
    return Message(text, [_context(text)])


QUEUED = "queued."
DOWNLOADING = "downloading the files…"
SUBMITTED = "sent to the ReID service, waiting for its answer…"
RESUMED = "I was restarted, so I'm starting this search again…"
FAILED = "stopped, see below."


def progress_note(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * 10)
    return f"analysing… {fraction:.0%} " + "▓" * filled + "░" * (10 - filled)


def done_note(result: ReIDResult) -> str:
    return f"done in {result.stats.wall_s:.1f} s."


@dataclass(frozen=True)
class Buttons:
    """Which of the answer's buttons help here."""

    appearances: bool = False
    """"Show every appearance": there are appearances to list."""
    look_again: bool = False
    """"Look again, less strict": someone was not found and the tolerance can still grow."""
    remember: tuple[str, ...] = ()
    """"Remember NAME": people found from a photo and not enrolled yet, to enrol them."""


def verdict(result: ReIDResult) -> str:
    """The answer in a few words: ``Found: Obama, Biden`` or ``Nobody found``."""
    found = [person.name for person in result.found()]
    return f"Found: {', '.join(found)}" if found else "Nobody found"


def result_message(
    result: ReIDResult,
    submission: Submission,
    request_id: str | None = None,
    buttons: Buttons = Buttons(),
    crops: Mapping[str, str] | None = None,
) -> Message:
    """The answer: the verdict as a header, the caption (and who wrote it, with the model's token
    counts, when a model was asked), a section per person, the unknown people seen repeatedly
    (with their face crops: ``crops`` maps a person id to its uploaded Slack file), what was
    searched, and the buttons that help. A less strict look says so in its header and under the
    caption."""
    header = verdict(result)
    blocks = [_section(escape(result.text))]
    if note := caption_note(result):
        blocks.append(_context(f"{':warning:' if result.caption.warning else ':speech_balloon:'} {escape(note)}"))
    if submission.looser_than is not None and submission.tolerance is not None:
        header += " (less strict)"
        blocks.append(
            _context(
                f":mag: Looked again, less strictly: tolerance {submission.tolerance:g} instead of "
                f"{submission.looser_than:g}. A looser match can take someone else for the person: check the pictures."
            )
        )
    blocks = [_header(header), *blocks]
    blocks += [_section(_person_line(person, result.media.kind)) for person in result.persons]
    blocks += unknown_blocks(result, request_id, crops)
    blocks.append(_context(_media_line(result, submission)))
    actions = []
    if request_id is not None and buttons.appearances:
        actions.append(_button("Show every appearance", APPEARANCES_BUTTON, request_id))
    if request_id is not None and buttons.look_again:
        actions.append(_button("Look again, less strict", LOOK_AGAIN_BUTTON, request_id))
    for name in buttons.remember[:MAX_REMEMBER_BUTTONS] if request_id is not None else ():
        actions.append(_button(f"Remember {name}", REMEMBER_BUTTON, f"{request_id}:{name}"))
    if actions:
        blocks.append({"type": "actions", "block_id": "answer_actions", "elements": actions})
    return Message(_clip(f"{header}. {result.text}"), blocks)


def unknown_value(request_id: str, person_id: str) -> str:
    """The value of an unknown person's buttons."""
    return f"{request_id}:{person_id}"


def parse_unknown_value(value: str) -> tuple[str, str]:
    """(request id, person id) of an unknown person's button."""
    request_id, _, person_id = value.rpartition(":")
    return request_id, person_id


def unknown_blocks(result: ReIDResult, request_id: str | None, crops: Mapping[str, str] | None = None) -> list[Block]:
    """A compact section per unknown person: who (their label, or the name someone gave them),
    how long on screen and when, their face crop beside it once uploaded, and the buttons to
    name them (until someone has) and to look for them in other footage."""
    people = result.unknown_people
    if not people:
        return []
    who = "1 person" if len(people) == 1 else f"{len(people)} people"
    blocks: list[Block] = [_context(f"*Also seen repeatedly* ({who} nobody asked for):")]
    for person in people[:MAX_UNKNOWN_SHOWN]:
        section = _section(_unknown_line(person, result.media.kind))
        file_id = (crops or {}).get(person.id)
        if file_id:
            section["accessory"] = {
                "type": "image",
                "slack_file": {"id": file_id},
                "alt_text": f"{person.shown_as}'s face",
            }
        blocks.append(section)
        if request_id is not None:
            value = unknown_value(request_id, person.id)
            naming = [_button(f"Name {person.label}", NAME_UNKNOWN, value)] if person.name is None else []
            find = _button("Find in other footage", FIND_UNKNOWN, value)
            blocks.append({"type": "actions", "block_id": f"unknown_{person.id}", "elements": [*naming, find]})
    if len(people) > MAX_UNKNOWN_SHOWN:
        more = len(people) - MAX_UNKNOWN_SHOWN
        blocks.append(_context(f"…and {count(more, 'other')}, seen less: `reid analyze` or the JSON lists them all."))
    return blocks


def _unknown_line(person: UnknownPerson, kind: str) -> str:
    spans = " · ".join(span(a.start, a.end) for a in person.appearances[:MAX_RANGES])
    more = f" · +{len(person.appearances) - MAX_RANGES} more" if len(person.appearances) > MAX_RANGES else ""
    who = f"*{escape(person.name)}* (was {person.label})" if person.name else f"*{person.label}*"
    return f":bust_in_silhouette: {who}: {duration(person.total_s)} on screen\n{spans}{more}"


def unknown_crop_titles(result: ReIDResult, footage: str) -> dict[str, str]:
    """File name of each unknown person's crop -> its title (and alt text)."""
    return {
        p.crop_file_name: f"{p.shown_as}, not asked for: {duration(p.total_s)} on screen in {footage}"
        for p in result.unknown_people
    }


def named_message(user: str, person: UnknownPerson, name: str, enrolled: str) -> Message:
    """Said in the thread once someone named an unknown person."""
    text = f"<@{user}> named {person.label} *{escape(name)}*. {escape(enrolled)}"
    return Message(text, [_section(text)])


def appearances_message(result: ReIDResult, submission: Submission) -> Message:
    """Every appearance of every person found, for "Show every appearance": one line each, in
    sections of at most 3,000 characters and one message's 50 blocks."""
    title = f"Every appearance in {submission.footage.name}"
    blocks: list[Block] = [_header(title)]
    for person in result.found():
        lines = [f"*{escape(person.name)}*: {count(len(person.appearances), 'appearance')}"]
        lines += [f"• {span(a.start, a.end)} · {a.confidence:.0%} confidence" for a in person.appearances]
        blocks += [_section(chunk) for chunk in _chunks(lines, SECTION_CHARS)]
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], _context("That is more than one message can hold; the list stops here.")]
    return Message(title, blocks)


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into texts of at most ``limit`` characters, never splitting a line."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(_clip(line, limit))
    return chunks


def loosest_message(tolerance: float) -> Message:
    text = (
        f"This search already used the loosest tolerance I allow ({tolerance:g}); looking again would only "
        "find other people. A clearer, front-facing photo of the face is the better next try."
    )
    return Message(text, [_section(text)])


def forgotten_text() -> str:
    return "I no longer have that search's answer. Ask me again with the footage and the photos."


def picture_titles(
    pictures: Sequence[Path], submission: Submission, moments: Sequence[Moment], result: ReIDResult
) -> list[str]:
    """Titles (and alt text) of the answer's pictures: the timeline by its name; each keyframe by
    who is in it and when, from the moments it was drawn from, in the same order; each unknown
    person's face crop by who they are and how long they were on screen."""
    footage, kind = submission.footage.name, result.media.kind
    crops = unknown_crop_titles(result, footage)
    drawn = iter(moments)
    titles = []
    for path in pictures:
        if path.name == "timeline.png":
            titles.append(f"Who appears when in {footage}")
            continue
        if path.name in crops:
            titles.append(crops[path.name])
            continue
        moment = next(drawn, None)
        who = names([f.name for f in moment.faces if f.name]) if moment else ""
        if kind == "video" and moment:
            titles.append(f"{who} at {clock(moment.time)} in {footage}")
        else:
            titles.append(f"{who} in {footage}" if who else f"Faces in {footage}")
    return titles


def _person_line(person: PersonResult, kind: str) -> str:
    name = f"*{escape(person.name)}*"
    if not person.found:
        return f":heavy_minus_sign: {name}: not found"
    line = f":white_check_mark: {name}: found, {person.confidence:.0%} confidence"
    if kind == "video":
        ranges = [span(a.start, a.end) for a in person.appearances]
        shown = " · ".join(ranges[:MAX_RANGES])
        more = f" · +{len(ranges) - MAX_RANGES} more" if len(ranges) > MAX_RANGES else ""
        line += f"\n{shown}{more} ({duration(person.total_s)} on screen)"
    return line


def _media_line(result: ReIDResult, submission: Submission) -> str:
    media = result.media
    described = f"{media.duration_s:.1f} s video" if media.kind == "video" else "photo"
    parts = [f"{escape(submission.footage.name)}: {described}, {media.width}×{media.height}"]
    if result.unknown_faces:
        parts.append(f"{result.unknown_faces} other face{'s' if result.unknown_faces != 1 else ''}")
    parts.append(f"analysed in {result.stats.wall_s:.1f} s")
    if submission.prompt:
        parts.append(f"question: {escape(submission.prompt)}")
    return " · ".join(parts)
