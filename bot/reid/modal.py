"""The request modal of ``/reid`` and the message shortcut: its view, what it carries from opening
to submission, and the `Submission` a filled-in form makes (or the problems, shown under each input).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from bot.reid.intake import footage_problem, person_name, reference_problem
from bot.reid.presentation import Block, _plain, _section, escape
from bot.reid.settings import BotSettings
from bot.reid.submission import IMAGE_TYPES, VIDEO_TYPES, Reference, SlackFile, Submission
from tools.reid.schemas import MAX_PERSONS

REQUEST_VIEW = "reid_request"
"""callback_id of the request modal."""
FOOTAGE_BLOCK = "footage"
QUESTION_BLOCK = "question"
VALUE_ACTION = "value"


class FormErrors(Exception):
    """Problems with a modal's inputs, by block id, as Slack shows them under each input."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class ModalContext(BaseModel):
    """What the modal carries in ``private_metadata`` from its opening to its submission."""

    source: Literal["modal", "shortcut"]
    channel: str
    thread_ts: str | None = None
    message_ts: str | None = None
    footage: SlackFile | None = None
    """The shortcut's message file, chosen before the modal opens (file inputs cannot be pre-filled)."""
    unknown: UnknownReference | None = None
    """"Find in other footage": an unknown person of an earlier answer, their face the first reference."""


class UnknownReference(BaseModel):
    """An unknown person of a kept answer, as the reference of a new search."""

    request: str
    person: str
    name: str
    """Their name if someone gave one, else their label (Person 2)."""

    def reference(self) -> Reference:
        """The reference their kept face crop makes."""
        crop = SlackFile(
            id=f"unknown-{self.person}", name=f"unknown-{self.person}.jpg", mimetype="image/jpeg", filetype="jpg"
        )
        return Reference(name=self.name, file=crop, from_answer=f"{self.request}:{self.person}")


def photo_block(slot: int) -> str:
    return f"photo_{slot}"


def name_block(slot: int) -> str:
    return f"name_{slot}"


def request_view(context: ModalContext) -> dict[str, Any]:
    """The /reid and shortcut modal: footage (unless the shortcut chose it), five people, a question."""
    blocks: list[Block] = []
    if context.unknown is not None:
        blocks.append(
            _section(
                f"*Looking for {escape(context.unknown.name)}*, the person seen in an earlier answer: their face "
                "from that footage is the reference. Add the footage to search, and anyone else to look for."
            )
        )
    if context.footage is not None:
        blocks.append(_section(f"*Footage:* {escape(context.footage.name)} (from the message)"))
    else:
        blocks.append(
            _file_input(
                FOOTAGE_BLOCK,
                "Footage: a video or a photo",
                VIDEO_TYPES | IMAGE_TYPES,
                hint="Files of up to 10 MB can be added here. For a larger video, upload it to a channel and choose "
                "Find people in this footage in the message's ⋯ menu.",
            )
        )
    for slot in range(1, MAX_PERSONS + 1):
        blocks.append(
            _file_input(
                photo_block(slot),
                f"Person {slot}: photo of the face",
                IMAGE_TYPES,
                optional=slot > 1 or context.unknown is not None,
            )
        )
        blocks.append(_text_input(name_block(slot), f"Person {slot}: name", "Taken from the photo's name if empty", 80))
    blocks.append(_text_input(QUESTION_BLOCK, "Question", "e.g. When is Alice on screen?", 4000, multiline=True))
    return {
        "type": "modal",
        "callback_id": REQUEST_VIEW,
        "title": _plain("Find people"),
        "submit": _plain("Search"),
        "close": _plain("Cancel"),
        "private_metadata": context.model_dump_json(exclude_none=True),
        "blocks": blocks,
    }


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only tells the user something (a shortcut on a message it cannot use)."""
    return {"type": "modal", "title": _plain("Find people"), "close": _plain("OK"), "blocks": [_section(escape(text))]}


def _file_input(
    block_id: str, label: str, filetypes: frozenset[str], *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": {"type": "file_input", "action_id": VALUE_ACTION, "filetypes": sorted(filetypes), "max_files": 1},
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(block_id: str, label: str, placeholder: str, max_length: int, *, multiline: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": _plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": VALUE_ACTION,
            "placeholder": _plain(placeholder),
            "max_length": max_length,
            "multiline": multiline,
        },
    }


def parse_modal(
    values: Mapping[str, Mapping[str, Any]],
    context: ModalContext,
    *,
    user: str,
    team: str | None,
    settings: BotSettings,
) -> Submission:
    """The submission a filled-in modal makes. A name without a photo, a photo of the wrong
    kind or size, or no photo at all is shown under the input concerned.

    Raises:
        FormErrors: block id -> what to change.
    """
    errors: dict[str, str] = {}
    footage = context.footage or next(iter(_files(values, FOOTAGE_BLOCK)), None)
    if footage is None:
        errors[FOOTAGE_BLOCK] = "Choose the video or photo to search."
    elif problem := footage_problem(footage, settings):
        errors[FOOTAGE_BLOCK] = problem
    references = [context.unknown.reference()] if context.unknown is not None else []
    for slot in range(1, MAX_PERSONS + 1):
        photos, name = _files(values, photo_block(slot)), _text(values, name_block(slot))
        if name and not photos:
            errors[photo_block(slot)] = f"Add a photo of {name}, or clear the name."
        for photo in photos:
            if problem := reference_problem(photo, settings):
                errors[photo_block(slot)] = problem
            references.append(Reference(name=name or person_name(photo), file=photo))
    if not references and photo_block(1) not in errors:
        errors[photo_block(1)] = "Add a photo of at least one person to look for."
    if errors or footage is None:
        raise FormErrors(errors)
    return Submission(
        source=context.source,
        team=team,
        channel=context.channel,
        thread_ts=context.thread_ts,
        message_ts=context.message_ts,
        user=user,
        prompt=_text(values, QUESTION_BLOCK),
        footage=footage,
        references=references,
    )


def _files(values: Mapping[str, Mapping[str, Any]], block: str) -> list[SlackFile]:
    """A ``file_input``'s files, as Slack sends them: ``{"type": "file_input", "files": [...]}``."""
    state = values.get(block, {}).get(VALUE_ACTION) or {}
    return [SlackFile.from_slack(file) for file in state.get("files") or []]


def _text(values: Mapping[str, Mapping[str, Any]], block: str) -> str | None:
    state = values.get(block, {}).get(VALUE_ACTION) or {}
    return (state.get("value") or "").strip() or None
