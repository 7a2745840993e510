"""Bolt listeners, kept thin: check, ack, parse (`bot.intake`), hand over (`ReIDBot.accept`).

Events are acknowledged by Bolt once these return (``process_before_response``), so a request is
stored before Slack hears it was received; a modal submission is acked by `ReIDBot.accept` right
after its request is stored; commands and shortcuts call ``ack()`` first thing. The analysis itself
always runs later, on the bot's worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import intake
from bot.intake import FormErrors, ModalContext
from bot.presentation import (
    REQUEST_VIEW,
    help_message,
    incomplete_message,
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


def register(app: AsyncApp, bot: ReIDBot) -> None:
    """Attach the bot's listeners to ``app``."""

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        await _take_message(bot, event, body, context, "mention")

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Direct messages to the bot need no mention; every other message event is ignored."""
        if event.get("channel_type") == "im" and event.get("subtype") in (None, "file_share"):
            await _take_message(bot, event, body, context, "direct_message")

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        if intake.asks_for_help(command.get("text") or ""):
            await ack(**help_message().as_kwargs())
            return
        if not bot.settings.allows(command["channel_id"], command["user_id"]):
            await ack(text=refusal_text())
            return
        await ack()
        context = ModalContext(source="modal", channel=command["channel_id"])
        await client.views_open(trigger_id=command["trigger_id"], view=request_view(context))

    @app.shortcut(SHORTCUT)
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = await _shortcut_view(bot, shortcut, client)
        await client.views_open(trigger_id=shortcut["trigger_id"], view=view)

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
        await bot.accept(submission, ack=ack)


async def _take_message(
    bot: ReIDBot, event: Mapping[str, Any], body: Mapping[str, Any], context: AsyncBoltContext, source: Source
) -> None:
    """A mention or direct message: dedupe, check access, parse, accept or say what is missing."""
    channel, user, ts = event["channel"], event.get("user"), event["ts"]
    if user is None or event.get("bot_id"):
        return
    # A Slack retry repeats the event_id; a mention in a DM arrives as app_mention and message.im.
    if not bot.store.claim_delivery([f"event:{body.get('event_id')}", f"message:{channel}:{ts}"]):
        log.info("ignoring a repeated delivery of message %s in %s", ts, channel)
        return
    client, thread_ts = bot.client, event.get("thread_ts") or ts
    if not bot.settings.allows(channel, user):
        await client.chat_postEphemeral(channel=channel, user=user, text=refusal_text())
        return
    files = event.get("files") or []
    if not files and intake.asks_for_help(intake.message_text(event.get("text") or "", context.bot_user_id)):
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **help_message().as_kwargs())
        return
    try:
        submission = intake.parse_message(
            event,
            await intake.expand_files(client, files),
            source=source,
            team=context.team_id,
            bot_user_id=context.bot_user_id,
            settings=bot.settings,
        )
    except InvalidInput as exc:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **incomplete_message(str(exc)).as_kwargs())
        return
    await bot.accept(submission)


async def _shortcut_view(bot: ReIDBot, shortcut: Mapping[str, Any], client: AsyncWebClient) -> dict[str, Any]:
    """The request modal with the message's footage chosen, or a notice saying why it cannot be."""
    channel, message = shortcut["channel"]["id"], shortcut["message"]
    if not bot.settings.allows(channel, shortcut["user"]["id"]):
        return notice_view(refusal_text())
    try:
        footage = intake.footage_of_shortcut(
            await intake.expand_files(client, message.get("files") or []), bot.settings
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
