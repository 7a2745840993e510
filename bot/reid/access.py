"""Who may use the bot: the allow-lists, checked in one Bolt middleware.

Every listener that takes a request runs it: mentions, direct messages, ``/reid``, the message
shortcut, the modal's submission and the answer's buttons. A refusal is acknowledged at once;
what the user is shown (an ephemeral message, a notice modal) is posted on the desk afterwards,
so no Web API call comes before the acknowledgement.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.reid.intake import asks_for_help
from bot.reid.modal import notice_view
from bot.reid.parts import Parts
from bot.reid.presentation import refusal_text

Middleware = Callable[..., Awaitable[BoltResponse | None]]


def allow_list(parts: Parts) -> Middleware:
    """The middleware that lets a request through only where the allow-lists (when set) allow
    its user in its channel. Asking ``/reid help`` is allowed to anyone."""

    async def allowed(
        body: dict[str, Any], context: AsyncBoltContext, ack: AsyncAck, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        channel, user = _where(body, context)
        if parts.settings.allows(channel, user) or asks_for_help(body.get("text") or "") and "command" in body:
            await next_()
            return None
        return await _refuse(parts, body, ack, channel, user)

    return allowed


def _where(body: Mapping[str, Any], context: AsyncBoltContext) -> tuple[str, str]:
    """The channel and the user of a request; a modal's channel is the one it was opened from."""
    channel = context.channel_id or (body.get("container") or {}).get("channel_id")
    if body.get("type") == "view_submission":
        channel = json.loads(body["view"]["private_metadata"]).get("channel")  # every modal of ours carries it
    return channel or "", context.user_id or ""


async def _refuse(parts: Parts, body: Mapping[str, Any], ack: AsyncAck, channel: str, user: str) -> BoltResponse:
    """Acknowledge a refused request in the way its kind allows, and tell the user."""
    kind = body.get("type")
    if "command" in body:
        return await ack(text=refusal_text())
    if kind == "view_submission":
        return await ack(response_action="update", view=notice_view(refusal_text()))
    if kind in ("shortcut", "message_action"):
        parts.desk.submit(partial(_notice, parts, body["trigger_id"]))
    else:
        parts.desk.submit(partial(_ephemeral, parts, channel, user))
    return await ack()


async def _ephemeral(parts: Parts, channel: str, user: str) -> None:
    await parts.client.chat_postEphemeral(channel=channel, user=user, text=refusal_text())


async def _notice(parts: Parts, trigger_id: str) -> None:
    await parts.client.views_open(trigger_id=trigger_id, view=notice_view(refusal_text()))
