"""Intake: a Slack message or modal submission becomes a `Submission`, or a precise account of
what is missing (`IncompleteRequest`) that the user can act on. The modal is `bot.reid.modal`.

Rules for a message (a mention, or a direct message to the bot):

* the footage is the one video; with photos only, it is the photo not named as a person (the
  first photo when no ``Name=file`` pair is given, as the ReID API's multipart form orders it);
* every other photo is a reference; its person is named by a ``Name=file`` pair in the text, else
  by the photo's title or file name (``alice.jpg`` → Alice);
* what remains of the text, without the mention and the pairs, is the question.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reid.settings import BotSettings
from bot.reid.submission import Reference, SlackFile, Source, Submission
from tools.reid.errors import FetchError, InvalidInput
from tools.reid.names import MAX_NAME_CHARS, name_from_file
from tools.reid.schemas import MAX_PERSONS
from tools.reid.wording import byte_size

HELP_WORDS = frozenset({"help", "?", "usage"})

_LINK = re.compile(r"<(?:https?://|mailto:)(?P<target>[^|>]*)(?:\|(?P<label>[^>]*))?>")
_NAME_PAIR = re.compile(r"(?:[\"“](?P<quoted>[^\"”]+)[\"”]|(?P<plain>[^\s=\"“”/:?&]+))=(?P<file>\S+)")
_PAIR_SEPARATOR = re.compile(r"[\s,;&+]*(?:(?:and|&)[\s,;]*)?", re.IGNORECASE)
"""What may stand between listed pairs (``Alice=a.jpg, Bob=b.jpg and Carol=c.jpg``)."""
_SENTENCE_ENDS = (".", "?", "!", ":", ")")


class IncompleteRequest(InvalidInput):
    """The request cannot run as sent; the message says what to send instead."""


# --- Files ------------------------------------------------------------------------------------


async def expand_files(client: AsyncWebClient, files: Iterable[Mapping[str, Any]]) -> list[SlackFile]:
    """The full file objects: stubs (``file_access: check_file_info``, as restricted and Slack
    Connect files arrive) and objects without a download URL are read back with ``files.info``.

    Raises:
        FetchError: Slack would not give a file's details (deleted, or not visible to the bot).
    """
    expanded = []
    for file in files:
        if file.get("file_access") == "check_file_info" or not (
            file.get("url_private_download") or file.get("url_private")
        ):
            try:
                file = (await client.files_info(file=file["id"]))["file"]
            except SlackApiError as exc:
                raise FetchError(
                    f"Slack would not let me read one of the files ({file['id']}: {exc.response.get('error')}). "
                    "If it was shared from another workspace or is restricted, upload it here directly."
                ) from exc
        expanded.append(SlackFile.from_slack(file))
    return expanded


def person_name(file: SlackFile) -> str:
    """The name a reference photo gives its person: the file's title when the user gave it one
    (Slack titles an upload after its file name unless the user types a title), else what
    `tools.reid.names.name_from_file` makes of the file name. The title stays exactly as typed: hyphens,
    apostrophes and accents are part of a name (``Lin-Manuel Miranda``, ``Zoë O'Brien``)."""
    title = file.title.strip()
    if title and title not in {file.name, PurePosixPath(file.name).stem}:
        return title[:80]
    return name_from_file(file.name) or file.id


def _matches(file: SlackFile, wanted: str) -> bool:
    """A ``Name=file`` pair may give the file name or title, with or without extension."""
    labels = {file.name, file.title, PurePosixPath(file.name).stem, PurePosixPath(file.title).stem}
    return wanted.casefold() in {label.casefold() for label in labels if label}


# --- Checks shared by messages and modals: each returns the problem, or None ------------------


def _too_large(file: SlackFile, limit: int, what: str, remedy: str) -> str | None:
    if file.size is None or file.size <= limit:
        return None
    return f"{file.name} is {byte_size(file.size)}; {what} can be at most {byte_size(limit)}. {remedy}"


def _unsupported(file: SlackFile) -> str | None:
    if file.kind is not None:
        return None
    described = file.mimetype or file.filetype or "unknown type"
    return (
        f"{file.name} ({described}) is not a video or photo. Send the footage as a video (MP4, MOV, WebM, …) "
        "or a photo, and each person as a photo of their face (JPEG, PNG, …)."
    )


def footage_problem(file: SlackFile, settings: BotSettings) -> str | None:
    remedy = "Trim the clip or lower its resolution, and send it again."
    return _unsupported(file) or _too_large(file, settings.max_footage_bytes, "footage", remedy)


def reference_problem(file: SlackFile, settings: BotSettings) -> str | None:
    if file.kind == "video":
        return f"{file.name} is a video; a reference must be a photo of the person's face."
    remedy = "Send a smaller photo; a crop of the face is enough."
    return _unsupported(file) or _too_large(file, settings.max_photo_bytes, "reference photos", remedy)


def _persons_problem(references: Sequence[Reference]) -> str | None:
    names = list(dict.fromkeys(ref.name.casefold() for ref in references))
    if len(names) <= MAX_PERSONS:
        return None
    listed = ", ".join(dict.fromkeys(ref.name for ref in references))
    return (
        f"That is {len(names)} people ({listed}); I can look for at most {MAX_PERSONS} at once. "
        "Send the others in a second request."
    )


# --- Messages ---------------------------------------------------------------------------------


def message_text(text: str, bot_user_id: str | None) -> str:
    """The text without the bot's mention, with Slack's link markup undone (``clip.mov`` and
    ``alice.me`` look like domains to Slack, which wraps them as ``<http://clip.mov|clip.mov>``)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return _LINK.sub(lambda m: m["label"] or m["target"], text)


def question_of(text: str) -> str:
    """The question a message asks, without its ``Name=file`` pairs.

    Pairs listed before the question or after its final punctuation are dropped (``is she here?
    Alice=a.jpg``); a pair inside it stands for its person, so it leaves the name (``when are
    Obama=o.jpg and Biden together?`` → ``when are Obama and Biden together?``) rather than a
    hole in the sentence.
    """
    pieces = _NAME_PAIR.split(text)
    # re.split interleaves the text between pairs with the pattern's groups: (quoted, plain, file).
    between, names = pieces[::4], [quoted or plain for quoted, plain in zip(pieces[1::4], pieces[2::4], strict=True)]
    words = [i for i, part in enumerate(between) if not _PAIR_SEPARATOR.fullmatch(part)]
    if not words:
        return ""
    first, last = words[0], words[-1]
    if not between[last].rstrip().endswith(_SENTENCE_ENDS):
        last = len(between) - 1
    kept = [between[first]]
    for name, part in zip(names[first:last], between[first + 1 : last + 1], strict=True):
        kept += [name, part]
    return " ".join("".join(kept).split())


def asks_for_help(text: str) -> bool:
    return text.strip().strip(".!").casefold() in HELP_WORDS


def parse_message(
    event: Mapping[str, Any],
    files: Sequence[SlackFile],
    *,
    source: Source,
    team: str | None,
    bot_user_id: str | None,
    settings: BotSettings,
    enrolled: Sequence[str] = (),
) -> Submission:
    """The submission a message with files makes. With the footage alone, the people it names
    from ``enrolled`` (the workspace's gallery) are searched for; "everyone enrolled" (or
    "everyone") searches the whole gallery.

    Raises:
        IncompleteRequest: no files, an unsupported or too large file, several videos, no
            reference photo nor enrolled name, a pair naming a file not in the message, more
            than five people with photos.
    """
    text = message_text(event.get("text") or "", bot_user_id)
    pairs = [(m["quoted"] or m["plain"], m["file"]) for m in _NAME_PAIR.finditer(text)]
    question = question_of(text)
    if not files:
        raise IncompleteRequest("There are no files in your message.")
    for file in files:
        _raise_if(_unsupported(file))
    named = _named_files(pairs, files)
    footage = _footage_of_message(files, named)
    _raise_if(footage_problem(footage, settings))
    references = [
        Reference(name=named.get(file.id) or person_name(file), file=file) for file in files if file.id != footage.id
    ]
    named_enrolled = enrolled_in(question, enrolled) if not references else []
    everyone = not references and bool(_EVERYONE.search(question))
    if not references and not named_enrolled and not everyone:
        raise IncompleteRequest(
            f"I have the footage ({footage.name}) but no photo of anyone to look for in it, and it names nobody "
            f"enrolled{_enrolled_hint(question, enrolled)}. Add a photo of each person, name people enrolled "
            "(`/reid people` lists them), or ask for everyone enrolled."
        )
    for ref in references:
        _raise_if(reference_problem(ref.file, settings))
    _raise_if(_persons_problem(references))
    return Submission(
        source=source,
        team=team,
        channel=event["channel"],
        thread_ts=event.get("thread_ts") or event["ts"],
        message_ts=event["ts"],
        user=event["user"],
        prompt=question or None,
        footage=footage,
        references=references,
        enrolled=named_enrolled,
        everyone_enrolled=everyone,
    )


_EVERYONE = re.compile(r"\b(?:everyone|everybody|anyone|anybody)(?: enrolled)?\b|\ball enrolled\b", re.IGNORECASE)


def enrolled_in(text: str, enrolled: Sequence[str]) -> list[str]:
    """The enrolled names a message's text mentions, whole words, any capitalisation, longest
    first so that "Grace Hopper" is not also "Grace"."""
    found, rest = [], text
    for name in sorted(enrolled, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
        if pattern.search(rest):
            found.append(name)
            rest = pattern.sub(" ", rest)
    return sorted(found, key=lambda name: text.casefold().find(name.casefold()))


def _enrolled_hint(text: str, enrolled: Sequence[str]) -> str:
    """ " (did you mean Grace Hopper?)" when a word of the text is close to an enrolled name."""
    words = re.findall(r"[\w'-]+", text)
    candidates = words + [" ".join(pair) for pair in zip(words, words[1:], strict=False)]
    close = {
        match
        for candidate in candidates
        for match in difflib.get_close_matches(candidate.casefold(), [n.casefold() for n in enrolled], n=1, cutoff=0.8)
    }
    names = [name for name in enrolled if name.casefold() in close]
    return f" (did you mean {', '.join(names)}?)" if names else ""


def _raise_if(problem: str | None) -> None:
    if problem is not None:
        raise IncompleteRequest(problem)


def _named_files(pairs: Sequence[tuple[str, str]], files: Sequence[SlackFile]) -> dict[str, str]:
    """file id -> person name, from the ``Name=file`` pairs of the text."""
    named = {}
    for name, wanted in pairs:
        file = next((f for f in files if _matches(f, wanted)), None)
        if file is None:
            listed = ", ".join(f.name for f in files)
            raise IncompleteRequest(f"{name}={wanted} names a file that is not in your message (it has {listed}).")
        if file.kind == "video":
            raise IncompleteRequest(f"{name}={wanted} names a video; a reference must be a photo of {name}'s face.")
        _raise_if(_name_problem(name))
        named[file.id] = name
    return named


def _name_problem(name: str) -> str | None:
    """A name the request model would refuse (too long), said to the user instead."""
    if len(name.strip()) <= MAX_NAME_CHARS:
        return None
    return (
        f"The name “{name[:40]}…” has {len(name.strip())} characters; a name can have at most "
        f"{MAX_NAME_CHARS}. Give a shorter one (Name=photo.png)."
    )


def _footage_of_message(files: Sequence[SlackFile], named: Mapping[str, str]) -> SlackFile:
    videos = [f for f in files if f.kind == "video"]
    if len(videos) > 1:
        listed = ", ".join(v.name for v in videos)
        raise IncompleteRequest(f"Your message has {len(videos)} videos ({listed}); I search one video at a time.")
    if videos:
        return videos[0]
    unnamed = [f for f in files if f.id not in named]
    if not named or len(unnamed) == 1:
        return unnamed[0]
    if not unnamed:
        raise IncompleteRequest("Every photo is named as a person, so there is nothing to search.")
    listed = ", ".join(f.name for f in unnamed)
    raise IncompleteRequest(
        f"I can't tell which photo to search: {listed} are not named as people. Leave only the photo to search unnamed."
    )


def footage_of_shortcut(files: Sequence[SlackFile], settings: BotSettings) -> SlackFile:
    """The file a message shortcut searches: the message's video, else its first photo.

    Raises:
        IncompleteRequest: the message holds no video or photo, or the file is too large.
    """
    candidates = sorted((f for f in files if f.kind is not None), key=lambda f: f.kind != "video")
    if not candidates:
        raise IncompleteRequest(
            "That message has no video or photo to search. Use this on a message with a video (MP4, MOV, …) or a photo."
        )
    _raise_if(footage_problem(candidates[0], settings))
    return candidates[0]
