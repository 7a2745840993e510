"""Bolt listeners, kept thin: check, store, acknowledge. No Web API call comes before an ack.

Events and button clicks are stored in the inbox and handled on the bot's desk worker
(`bot.handling`); Bolt acknowledges them once these return (``process_before_response``), so a
delivery is stored before Slack hears it was received. A modal submission is stored as a request,
then acked. Commands and shortcuts ``ack()`` and leave ``views.open`` to the desk (a trigger is
valid for 3 seconds, so those jobs are not stored). The analysis always runs later, on the
bot's worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot import handling, intake
from bot.intake import FormErrors, ModalContext
from bot.presentation import (
    LOOK_AGAIN,
    REQUEST_VIEW,
    SHOW_APPEARANCES,
    help_message,
    notice_view,
    refusal_text,
    request_view,
)
from bot.submission import Source
from tools.reid.errors import InvalidInput

if TYPE_CHECKING:
    from bot.app import ReIDBot

log = logging.getLogger(__name__)

COMMAND = "/reid"
SHORTCUT = "find_people"
ANSWER_ACTIONS = re.compile(f"^(?:{SHOW_APPEARANCES}|{LOOK_AGAIN})$")


def register(app: AsyncApp, bot: ReIDBot) -> None:
    """Attach the bot's listeners to ``app``."""

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        _receive_message(bot, event, body, context, "mention")

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Direct messages to the bot need no mention; every other message event is ignored."""
        if event.get("channel_type") == "im" and event.get("subtype") in (None, "file_share"):
            _receive_message(bot, event, body, context, "direct_message")

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        if intake.asks_for_help(command.get("text") or ""):
            await ack(**help_message().as_kwargs())
            return
        if not bot.settings.allows(command["channel_id"], command["user_id"]):
            await ack(text=refusal_text())
            return
        await ack()
        context = ModalContext(source="modal", channel=command["channel_id"])
        bot.desk.submit(partial(_open_modal, bot, command["trigger_id"], request_view(context)))

    @app.shortcut(SHORTCUT)
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        await ack()
        bot.desk.submit(partial(_open_shortcut_modal, bot, shortcut))

    @app.view(REQUEST_VIEW)
    async def on_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = ModalContext.model_validate_json(view["private_metadata"])
        try:
            submission = intake.parse_modal(
                view["state"]["values"],
                context,
                user=body["user"]["id"],
                team=(body.get("team") or {}).get("id"),
                settings=bot.settings,
            )
        except FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        stored = bot.store.add(submission)
        await ack()
        bot.announce(stored.id)

    @app.action(ANSWER_ACTIONS)
    async def on_answer_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The answer's buttons carry the request id; the store has its result, also after a restart."""
        kind = handling.SHOW_APPEARANCES if action["action_id"] == SHOW_APPEARANCES else handling.LOOK_AGAIN
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        bot.receive(kind, {"request": action["value"], "channel": channel, "user": body["user"]["id"]})
        await ack()


def _receive_message(
    bot: ReIDBot, event: Mapping[str, Any], body: Mapping[str, Any], context: AsyncBoltContext, source: Source
) -> None:
    """A mention or direct message: dedupe, then store it for the desk (`handling.take_message`)."""
    channel, user, ts = event["channel"], event.get("user"), event["ts"]
    if user is None or event.get("bot_id"):
        return
    # A Slack retry repeats the event_id; a mention in a DM arrives as app_mention and message.im.
    if not bot.store.claim_delivery([f"event:{body.get('event_id')}", f"message:{channel}:{ts}"]):
        log.info("ignoring a repeated delivery of message %s in %s", ts, channel)
        return
    payload = {"event": dict(event), "source": source, "team": context.team_id, "bot_user_id": context.bot_user_id}
    bot.receive(handling.MESSAGE, payload)


async def _open_modal(bot: ReIDBot, trigger_id: str, view: dict[str, Any]) -> None:
    """On the desk, right after the ack (the trigger is valid for 3 seconds: not worth storing)."""
    await bot.client.views_open(trigger_id=trigger_id, view=view)


async def _open_shortcut_modal(bot: ReIDBot, shortcut: Mapping[str, Any]) -> None:
    await _open_modal(bot, shortcut["trigger_id"], await _shortcut_view(bot, shortcut))


async def _shortcut_view(bot: ReIDBot, shortcut: Mapping[str, Any]) -> dict[str, Any]:
    """The request modal with the message's footage chosen, or a notice saying why it cannot be."""
    channel, message = shortcut["channel"]["id"], shortcut["message"]
    if not bot.settings.allows(channel, shortcut["user"]["id"]):
        return notice_view(refusal_text())
    try:
        footage = intake.footage_of_shortcut(
            await intake.expand_files(bot.client, message.get("files") or []), bot.settings
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
