"""Naming an unknown person from the thread: "Name Person 2" opens a modal for the name and the
consent note; once submitted, their faces (as the analysis grouped them) are enrolled in the
workspace's gallery and the answer is re-labelled at once, without a new analysis.

The button is acknowledged first and the modal opened on the desk (a trigger lasts 3 seconds);
the submission is stored in the inbox before it is acknowledged, and the enrolment, the answer's
update and the note in the thread follow on the desk. The gallery's audit log records who named
whom; nobody is enrolled unless a person names them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bot.reid import presentation
from bot.reid.modal import VALUE_ACTION, FormErrors
from bot.reid.parts import Parts
from bot.reid.presentation import Block, _plain, _section
from bot.reid.store import InboxEntry
from bot.reid.thread import RequestThread
from tools.reid.errors import InvalidInput
from tools.reid.schemas import PersonName, UnknownPerson
from tools.reid.wording import duration

log = logging.getLogger(__name__)

NAME_VIEW = "reid_name_unknown"
"""callback_id of the "Name this person" modal."""
NAME_BLOCK, CONSENT_BLOCK = "unknown_name", "unknown_consent"
MAX_CONSENT = 500
_NAME: TypeAdapter[str] = TypeAdapter(PersonName)


def name_view(request_id: str, person: UnknownPerson, channel: str) -> dict[str, Any]:
    """The "Name this person" modal: the name to enrol them under, and how they consented."""
    metadata = json.dumps({"request": request_id, "person": person.id, "channel": channel})
    return {
        "type": "modal",
        "callback_id": NAME_VIEW,
        "title": _plain(f"Name {person.label}"[:24]),
        "submit": _plain("Name and remember"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": [
            _section(
                f"*{person.label}* was on screen for {duration(person.total_s)}. Naming them enrols their face in this "
                "workspace's gallery, so later searches can ask for them by name. Only name someone who agreed to it."
            ),
            _input(NAME_BLOCK, "Name", "e.g. Alice Smith", 80),
            _input(CONSENT_BLOCK, "Consent", "How they agreed to be remembered, e.g. signed visitor form", MAX_CONSENT),
        ],
    }


def _input(block_id: str, label: str, placeholder: str, max_length: int) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": VALUE_ACTION,
            "placeholder": _plain(placeholder),
            "max_length": max_length,
        },
    }


def parse_name(values: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """(name, consent) of a submitted modal.

    Raises:
        FormErrors: a missing or unusable name, a missing consent note.
    """
    name = ((values.get(NAME_BLOCK, {}).get(VALUE_ACTION) or {}).get("value") or "").strip()
    consent = ((values.get(CONSENT_BLOCK, {}).get(VALUE_ACTION) or {}).get("value") or "").strip()
    errors = {}
    try:
        name = _NAME.validate_python(name)
    except ValidationError:
        errors[NAME_BLOCK] = "Give the person's name (1-80 characters)."
    if not consent:
        errors[CONSENT_BLOCK] = "Say how they agreed to be remembered; it is kept with their enrolment."
    if errors:
        raise FormErrors(errors)
    return name, consent


async def open_name_modal(parts: Parts, trigger_id: str, value: str, channel: str, user: str) -> None:
    """On the desk, right after the button's ack: the modal, or a note saying why not."""
    request_id, person_id = presentation.parse_unknown_value(value)
    result = parts.store.result(request_id)
    person = result.unknown_person(person_id) if result else None
    if person is None:
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=presentation.forgotten_text())
        return
    if person.name is not None:
        text = (
            f"{person.label} was named {person.name} already. To rename them, remove them first (reid people remove)."
        )
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=text)
        return
    await parts.client.views_open(trigger_id=trigger_id, view=name_view(request_id, person, channel))


async def name_unknown(parts: Parts, entry: InboxEntry) -> None:
    """The submitted name: enrol the person's faces, re-label the answer, say so in the thread."""
    payload = entry.payload
    request_id, person_id, user = payload["request"], payload["person"], payload["user"]
    channel, name, consent = payload["channel"], payload["name"], payload["consent"]
    stored, result = parts.store.get(request_id), parts.store.result(request_id)
    crops = parts.store.unknown_faces(request_id)
    if stored is None or result is None or person_id not in crops:
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=presentation.forgotten_text())
        return
    person = result.unknown_person(person_id)
    if person is None:
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=presentation.forgotten_text())
        return
    tenant = stored.submission.tenant()
    try:
        enrolment = await asyncio.to_thread(
            parts.runner.tool.name_unknown,
            tenant,
            result,
            person_id,
            name,
            by=user,
            consent=consent,
            source=f"the answer to request {stored.reference}",
            crop=crops[person_id].crop,
            surface="slack",
        )
    except InvalidInput as exc:
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=f"{name} was not enrolled: {exc}")
        return
    named = result.with_name(person_id, name)
    parts.store.relabel(request_id, named)
    thread = RequestThread(parts.client, parts.store, stored)
    answer_ts = parts.store.answer_ts(request_id)
    if answer_ts is not None:
        shown = {pid: face.file_id for pid, face in crops.items() if face.file_id}
        buttons = await parts.runner.buttons(stored, named)
        await thread.update(answer_ts, presentation.result_message(named, stored.submission, stored.id, buttons, shown))
    await thread.reply(presentation.named_message(user, person, name, enrolment.text()))
    log.info("request %s: an unknown person was named and enrolled", stored.reference)
