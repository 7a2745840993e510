"""Bolt listeners, kept thin: check, store, acknowledge. No Web API call comes before an ack.

Events and button clicks are stored in the inbox and handled on the bot's desk worker
(`bot.reid.handling`); Bolt acknowledges them once these return (``process_before_response``), so a
delivery is stored before Slack hears it was received. A modal submission is stored as a request,
then acked. Commands and shortcuts ``ack()`` and leave ``views.open`` to the desk (a trigger is
valid for 3 seconds, so those jobs are not stored). The analysis always runs later, on the
bot's worker. Every listener that takes a request runs the allow-list middleware first
(`bot.reid.access`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot.reid import handling, intake, naming, remembering
from bot.reid.access import allow_list
from bot.reid.modal import (
    REQUEST_VIEW,
    FormErrors,
    ModalContext,
    UnknownReference,
    notice_view,
    parse_modal,
    request_view,
)
from bot.reid.parts import Parts
from bot.reid.presentation import (
    APPEARANCES_BUTTON,
    FIND_UNKNOWN,
    LOOK_AGAIN_BUTTON,
    NAME_UNKNOWN,
    REMEMBER_BUTTON,
    forgotten_text,
    help_message,
    parse_unknown_value,
)
from bot.reid.remembering import REMEMBER_VIEW, RememberContext, parse_remember, remember_view
from bot.reid.submission import Source
from tools.reid.errors import InvalidInput

log = logging.getLogger(__name__)

COMMAND = "/reid"
SHORTCUT = "find_people"
ANSWER_ACTIONS = re.compile(f"^(?:{APPEARANCES_BUTTON}|{LOOK_AGAIN_BUTTON})$")
UNKNOWN_ACTIONS = re.compile(f"^(?:{NAME_UNKNOWN}|{FIND_UNKNOWN})$")


async def _from_a_person(event: dict[str, Any]) -> bool:
    """Messages of bots (this one too) are not requests."""
    return event.get("user") is not None and not event.get("bot_id")


async def _direct_message(event: dict[str, Any]) -> bool:
    """Direct messages to the bot need no mention; every other message event is ignored."""
    return event.get("channel_type") == "im" and event.get("subtype") in (None, "file_share")


def register(app: AsyncApp, parts: Parts) -> None:
    """Attach the bot's listeners to ``app``."""
    allowed = [allow_list(parts)]

    @app.event("app_mention", matchers=[_from_a_person], middleware=allowed)
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        _receive_message(parts, event, body, context, "mention")

    @app.event("message", matchers=[_direct_message, _from_a_person], middleware=allowed)
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        _receive_message(parts, event, body, context, "direct_message")

    @app.event("app_mention")
    @app.event("message")
    async def on_other_message() -> None:
        """Channel messages and bots' messages are not requests: acknowledged, nothing more
        (unacknowledged, Slack would deliver them again)."""

    @app.command(COMMAND, middleware=allowed)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        if intake.asks_for_help(command.get("text") or ""):
            await ack(**help_message().as_kwargs())
            return
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        if word.casefold() in GALLERY_COMMANDS:
            await _gallery_command(parts, ack, command, word.casefold(), rest.strip())
            return
        await ack()
        context = ModalContext(source="modal", channel=command["channel_id"])
        parts.desk.submit(partial(_open_modal, parts, command["trigger_id"], request_view(context)))

    @app.shortcut(SHORTCUT, middleware=allowed)
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        await ack()
        parts.desk.submit(partial(_open_shortcut_modal, parts, shortcut))

    @app.view(REQUEST_VIEW, middleware=allowed)
    async def on_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = ModalContext.model_validate_json(view["private_metadata"])
        try:
            submission = parse_modal(
                view["state"]["values"],
                context,
                user=body["user"]["id"],
                team=(body.get("team") or {}).get("id"),
                settings=parts.settings,
            )
        except FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        stored = parts.store.add(submission)
        await ack()
        handling.accept(parts, stored.id)

    @app.action(UNKNOWN_ACTIONS, middleware=allowed)
    async def on_unknown_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """An unknown person's buttons: the naming modal, or the request modal with their face as
        the reference; opened on the desk right after the ack (the trigger lasts 3 seconds)."""
        await ack()
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        user, value = body["user"]["id"], action["value"]
        if action["action_id"] == NAME_UNKNOWN:
            parts.desk.submit(partial(naming.open_name_modal, parts, body["trigger_id"], value, channel, user))
        else:
            parts.desk.submit(partial(_open_find_modal, parts, body["trigger_id"], value, channel, user))

    @app.view(naming.NAME_VIEW, middleware=allowed)
    async def on_name_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Stored, then acknowledged (the modal closes); enrolling and re-labelling follow on the desk."""
        try:
            name, consent = naming.parse_name(view["state"]["values"])
        except FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        meta = json.loads(view["private_metadata"])
        payload = {
            "request": meta["request"],
            "person": meta["person"],
            "channel": meta["channel"],
            "user": body["user"]["id"],
            "team": (body.get("team") or {}).get("id"),
            "name": name,
            "consent": consent,
        }
        handling.receive(parts, handling.NAME_UNKNOWN, payload)
        await ack()

    @app.view(REMEMBER_VIEW, middleware=allowed)
    async def on_remember(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = RememberContext.model_validate_json(view["private_metadata"])
        try:
            form = parse_remember(view["state"]["values"], parts, context)
        except FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        await ack()
        team = (body.get("team") or {}).get("id") or "slack"
        parts.desk.submit(
            partial(remembering.enrol, parts, form, team=team, user=body["user"]["id"], channel=context.channel)
        )

    @app.action(REMEMBER_BUTTON, middleware=allowed)
    async def on_remember_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "Remember this person" on an answer: the enrolment modal, their name filled in."""
        await ack()
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        request, _, name = (action.get("value") or "").partition(":")
        view = remember_view(channel, name or None, request or None)
        parts.desk.submit(partial(_open_modal, parts, body["trigger_id"], view))

    @app.action(ANSWER_ACTIONS, middleware=allowed)
    async def on_answer_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The answer's buttons carry the request id; the store has its result, also after a restart."""
        kind = handling.APPEARANCES if action["action_id"] == APPEARANCES_BUTTON else handling.LOOK_AGAIN
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        handling.receive(parts, kind, {"request": action["value"], "channel": channel, "user": body["user"]["id"]})
        await ack()


GALLERY_COMMANDS = frozenset({"remember", "people", "forget", "audit"})


async def _gallery_command(parts: Parts, ack: AsyncAck, command: Mapping[str, Any], word: str, rest: str) -> None:
    """``/reid remember [NAME]``, ``people``, ``forget NAME``, ``audit``: acknowledged at once; what
    needs the Web API (a modal, the admin check) follows on the desk."""
    team, user, channel = command.get("team_id") or "slack", command["user_id"], command["channel_id"]
    if word == "people":
        await ack(text=remembering.people_text(parts.runner.tool.people(team)))
        return
    if word == "forget" and not rest:
        await ack(text="Say whom to remove: `/reid forget NAME` (`/reid people` lists who is enrolled).")
        return
    await ack()
    if word == "remember":
        job = partial(_open_modal, parts, command["trigger_id"], remember_view(channel, rest or None))
    elif word == "forget":
        job = partial(remembering.forget, parts, rest, team=team, user=user, channel=channel)
    else:
        job = partial(remembering.audit, parts, team=team, user=user, channel=channel)
    parts.desk.submit(job)


def _receive_message(
    parts: Parts, event: Mapping[str, Any], body: Mapping[str, Any], context: AsyncBoltContext, source: Source
) -> None:
    """A mention or direct message: dedupe, then store it for the desk (`handling.take_message`)."""
    channel, ts = event["channel"], event["ts"]
    # A Slack retry repeats the event_id; a mention in a DM arrives as app_mention and message.im.
    if not parts.store.claim_delivery([f"event:{body.get('event_id')}", f"message:{channel}:{ts}"]):
        log.info("ignoring a repeated delivery of message %s in %s", ts, channel)
        return
    payload = {"event": dict(event), "source": source, "team": context.team_id, "bot_user_id": context.bot_user_id}
    handling.receive(parts, handling.MESSAGE, payload)


async def _open_modal(parts: Parts, trigger_id: str, view: dict[str, Any]) -> None:
    """On the desk, right after the ack (the trigger is valid for 3 seconds: not worth storing)."""
    await parts.client.views_open(trigger_id=trigger_id, view=view)


async def _open_find_modal(parts: Parts, trigger_id: str, value: str, channel: str, user: str) -> None:
    """The request modal with an unknown person's face as the first reference; the user adds the footage."""
    request_id, person_id = parse_unknown_value(value)
    result = parts.store.result(request_id)
    person = result.unknown_person(person_id) if result else None
    if person is None or person_id not in parts.store.unknown_faces(request_id):
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=forgotten_text())
        return
    unknown = UnknownReference(request=request_id, person=person_id, name=person.shown_as)
    await _open_modal(parts, trigger_id, request_view(ModalContext(source="modal", channel=channel, unknown=unknown)))


async def _open_shortcut_modal(parts: Parts, shortcut: Mapping[str, Any]) -> None:
    await _open_modal(parts, shortcut["trigger_id"], await _shortcut_view(parts, shortcut))


async def _shortcut_view(parts: Parts, shortcut: Mapping[str, Any]) -> dict[str, Any]:
    """The request modal with the message's footage chosen, or a notice saying why it cannot be."""
    channel, message = shortcut["channel"]["id"], shortcut["message"]
    try:
        footage = intake.footage_of_shortcut(
            await intake.expand_files(parts.client, message.get("files") or []), parts.settings
        )
    except InvalidInput as exc:
        return notice_view(str(exc))
    context = ModalContext(
        source="shortcut",
        channel=channel,
        thread_ts=message.get("thread_ts") or message["ts"],
        message_ts=message["ts"],
        footage=footage,
    )
    return request_view(context)
