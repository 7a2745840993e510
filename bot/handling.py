"""What happens after the acknowledgement: the Web API work each stored delivery needs.

Each function runs as a job on the bot's desk worker. A delivery leaves the inbox once it has
become a request or been answered; one interrupted by a restart is handled again at the next
start. Failures the user can act on become replies; the rest are logged by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from slack_sdk.errors import SlackApiError

from bot import intake, presentation
from bot.run import looser_tolerance
from bot.store import InboxEntry, StoredRequest
from bot.thread import SEEN, RequestThread
from tools.reid.errors import InvalidInput
from tools.reid.schemas import ReIDResult

if TYPE_CHECKING:
    from bot.app import ReIDBot

log = logging.getLogger(__name__)

Kind = Literal["message", "show_appearances", "look_again"]
MESSAGE: Kind = "message"
SHOW_APPEARANCES: Kind = "show_appearances"
LOOK_AGAIN: Kind = "look_again"

NOT_INVITED = frozenset({"not_in_channel", "channel_not_found"})


async def handle(bot: ReIDBot, entry_id: str) -> None:
    """Handle one inbox entry, then drop it. A failure drops it too (a delivery that breaks the
    bot must not break it again at every start); a shutdown does not, so it is handled at the next."""
    entry = bot.store.inbox_entry(entry_id)
    if entry is None:
        return
    try:
        await _HANDLERS[entry.kind](bot, entry)
    except Exception:
        bot.store.discard(entry_id)
        raise
    bot.store.discard(entry_id)


async def take_message(bot: ReIDBot, entry: InboxEntry) -> None:
    """A mention or direct message: check access, parse, accept or say what is missing."""
    event, payload = entry.payload["event"], entry.payload
    channel, user, ts = event["channel"], event["user"], event["ts"]
    client, thread_ts = bot.client, event.get("thread_ts") or ts
    if not bot.settings.allows(channel, user):
        await client.chat_postEphemeral(channel=channel, user=user, text=presentation.refusal_text())
        return
    files = event.get("files") or []
    if not files and intake.asks_for_help(intake.message_text(event.get("text") or "", payload["bot_user_id"])):
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **presentation.help_message().as_kwargs())
        return
    try:
        submission = intake.parse_message(
            event,
            await intake.expand_files(client, files),
            source=payload["source"],
            team=payload["team"],
            bot_user_id=payload["bot_user_id"],
            settings=bot.settings,
        )
    except InvalidInput as exc:
        message = presentation.incomplete_message(str(exc))
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.as_kwargs())
        return
    stored = bot.store.add(submission, inbox_id=entry.id)
    await announce(bot, stored.id)


async def announce(bot: ReIDBot, request_id: str, *, resumed: bool = False) -> None:
    """Show a stored request is seen, then queue its analysis: post the /reid parent message if
    it has none yet, react 👀, post the status message.

    Where the bot is not a member it cannot answer; the user then gets a direct message saying so.
    """
    stored = bot.store.get(request_id)
    if stored is None or stored.state != "pending":
        return
    submission = stored.submission
    try:
        if submission.thread_ts is None:
            parent = await bot.client.chat_postMessage(
                channel=submission.channel, **presentation.parent_message(submission).as_kwargs()
            )
            stored = bot.store.set_thread(stored.id, parent["ts"])
        thread = RequestThread(bot.client, bot.store, stored)
        await thread.react(SEEN)
        await thread.status(presentation.RESUMED if resumed else presentation.QUEUED)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_INVITED:
            raise
        bot.store.finish(stored.id, "failed")
        await bot.client.chat_postMessage(
            channel=submission.user, text=presentation.not_invited_text(submission.channel)
        )
        return
    if not resumed:
        log.info("request %s accepted from %s in %s", stored.reference, submission.source, submission.channel)
    bot.enqueue(stored.id)


async def show_appearances(bot: ReIDBot, entry: InboxEntry) -> None:
    """The "Show every appearance" button: the full list, in the answer's thread."""
    answered = await _answered(bot, entry)
    if answered is None:
        return
    stored, result = answered
    thread = RequestThread(bot.client, bot.store, stored)
    await thread.reply(presentation.appearances_message(result, stored.submission))


async def look_again(bot: ReIDBot, entry: InboxEntry) -> None:
    """The "Look again, less strict" button: the same request with a looser tolerance, answered
    in the same thread and marked as such."""
    answered = await _answered(bot, entry)
    if answered is None:
        return
    stored, _ = answered
    submission = stored.submission
    current = submission.tolerance if submission.tolerance is not None else bot.runner.tolerance
    looser = looser_tolerance(current, bot.runner.descriptor)
    if looser is None:
        await RequestThread(bot.client, bot.store, stored).reply(presentation.loosest_message(current))
        return
    again = submission.model_copy(
        update={"tolerance": looser, "looser_than": current, "user": entry.payload["user"], "message_ts": None}
    )
    await announce(bot, bot.store.add(again, inbox_id=entry.id).id)


async def _answered(bot: ReIDBot, entry: InboxEntry) -> tuple[StoredRequest, ReIDResult] | None:
    """The request and result a button belongs to, once per button (a double click counts once);
    the user is told when it cannot be used."""
    payload = entry.payload
    channel, user, request_id = payload["channel"], payload["user"], payload["request"]
    if not bot.settings.allows(channel, user):
        await bot.client.chat_postEphemeral(channel=channel, user=user, text=presentation.refusal_text())
        return None
    stored, result = bot.store.get(request_id), bot.store.result(request_id)
    if stored is None or result is None:
        await bot.client.chat_postEphemeral(channel=channel, user=user, text=presentation.forgotten_text())
        return None
    if not bot.store.claim_delivery([f"{entry.kind}:{request_id}"]):
        log.info("ignoring a repeated %s on request %s", entry.kind, stored.reference)
        return None
    return stored, result


_HANDLERS: dict[str, Callable[[ReIDBot, InboxEntry], Awaitable[None]]] = {
    MESSAGE: take_message,
    SHOW_APPEARANCES: show_appearances,
    LOOK_AGAIN: look_again,
}
