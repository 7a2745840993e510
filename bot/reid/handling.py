"""What happens after the acknowledgement: the Web API work each stored delivery needs.

Each function runs as a job on the bot's desk worker. A delivery leaves the inbox once it has
become a request or been answered; one interrupted by a restart is handled again at the next
start. Failures the user can act on become replies; the rest are logged by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from bot.reid import intake, naming, presentation
from bot.reid.parts import Parts
from bot.reid.run import looser_tolerance
from bot.reid.store import InboxEntry, StoredRequest
from bot.reid.thread import SEEN, RequestThread
from tools.reid.errors import InvalidInput
from tools.reid.schemas import ReIDResult

log = logging.getLogger(__name__)

Kind = Literal["message", "show_appearances", "look_again", "name_unknown"]
"""What an inbox entry holds (the store keeps these strings)."""
MESSAGE: Kind = "message"
APPEARANCES: Kind = "show_appearances"
LOOK_AGAIN: Kind = "look_again"
NAME_UNKNOWN: Kind = "name_unknown"

NOT_INVITED = frozenset({"not_in_channel", "channel_not_found"})


def receive(parts: Parts, kind: Kind, payload: dict[str, Any]) -> None:
    """Store a delivery, to be handled on the desk once Slack has its acknowledgement."""
    entry_id = parts.store.receive(kind, payload)
    parts.desk.submit(partial(handle, parts, entry_id))


def accept(parts: Parts, request_id: str, *, resumed: bool = False) -> None:
    """A stored request: show it is seen (on the desk), then queue its analysis."""
    parts.desk.submit(partial(announce, parts, request_id, resumed=resumed))


async def handle(parts: Parts, entry_id: str) -> None:
    """Handle one inbox entry, then drop it. A failure drops it too (a delivery that breaks the
    bot must not break it again at every start); a shutdown does not, so it is handled at the next."""
    entry = parts.store.inbox_entry(entry_id)
    if entry is None:
        return
    try:
        await _HANDLERS[entry.kind](parts, entry)
    except Exception:
        parts.store.discard(entry_id)
        raise
    parts.store.discard(entry_id)


async def take_message(parts: Parts, entry: InboxEntry) -> None:
    """A mention or direct message (its access checked by `bot.reid.access`): parse, accept or say what is missing."""
    event, payload = entry.payload["event"], entry.payload
    channel, ts = event["channel"], event["ts"]
    client, thread_ts = parts.client, event.get("thread_ts") or ts
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
            settings=parts.settings,
            enrolled=parts.runner.tool.people(payload["team"] or "slack").names(),
        )
    except InvalidInput as exc:
        message = presentation.incomplete_message(str(exc))
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.as_kwargs())
        return
    stored = parts.store.add(submission, inbox_id=entry.id)
    await announce(parts, stored.id)


async def announce(parts: Parts, request_id: str, *, resumed: bool = False) -> None:
    """Show a stored request is seen, then queue its analysis: post the /reid parent message if
    it has none yet, react 👀, post the status message.

    Where the bot is not a member it cannot answer; the user then gets a direct message saying so.
    """
    stored = parts.store.get(request_id)
    if stored is None or stored.state != "pending":
        return
    submission = stored.submission
    try:
        if submission.thread_ts is None:
            parent = await parts.client.chat_postMessage(
                channel=submission.channel, **presentation.parent_message(submission).as_kwargs()
            )
            stored = parts.store.set_thread(stored.id, parent["ts"])
            parts.store.record_posted(stored.id, submission.channel, "message", [parent["ts"]])
        thread = RequestThread(parts.client, parts.store, stored)
        await thread.react(SEEN)
        await thread.status(presentation.RESUMED if resumed else presentation.QUEUED)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_INVITED:
            raise
        parts.store.finish(stored.id, "failed")
        await parts.client.chat_postMessage(
            channel=submission.user, text=presentation.not_invited_text(submission.channel)
        )
        return
    if not resumed:
        log.info("request %s accepted from %s in %s", stored.reference, submission.source, submission.channel)
    parts.enqueue(stored.id)


async def show_appearances(parts: Parts, entry: InboxEntry) -> None:
    """The "Show every appearance" button: the full list, in the answer's thread."""
    answered = await _answered(parts, entry)
    if answered is None:
        return
    stored, result = answered
    thread = RequestThread(parts.client, parts.store, stored)
    await thread.reply(presentation.appearances_message(result, stored.submission))


async def look_again(parts: Parts, entry: InboxEntry) -> None:
    """The "Look again, less strict" button: the same request with a looser tolerance, answered
    in the same thread and marked as such."""
    answered = await _answered(parts, entry)
    if answered is None:
        return
    stored, _ = answered
    submission = stored.submission
    current = submission.tolerance if submission.tolerance is not None else parts.runner.tolerance
    looser = looser_tolerance(current, parts.runner.descriptor)
    if looser is None:
        await RequestThread(parts.client, parts.store, stored).reply(presentation.loosest_message(current))
        return
    again = submission.model_copy(
        update={"tolerance": looser, "looser_than": current, "user": entry.payload["user"], "message_ts": None}
    )
    await announce(parts, parts.store.add(again, inbox_id=entry.id).id)


async def _answered(parts: Parts, entry: InboxEntry) -> tuple[StoredRequest, ReIDResult] | None:
    """The request and result a button belongs to, once per button (a double click counts once);
    the user is told when it cannot be used."""
    payload = entry.payload
    channel, user, request_id = payload["channel"], payload["user"], payload["request"]
    stored, result = parts.store.get(request_id), parts.store.result(request_id)
    if stored is None or result is None:
        await parts.client.chat_postEphemeral(channel=channel, user=user, text=presentation.forgotten_text())
        return None
    if not parts.store.claim_delivery([f"{entry.kind}:{request_id}"]):
        log.info("ignoring a repeated %s on request %s", entry.kind, stored.reference)
        return None
    return stored, result


_HANDLERS: dict[str, Callable[[Parts, InboxEntry], Awaitable[None]]] = {
    MESSAGE: take_message,
    APPEARANCES: show_appearances,
    LOOK_AGAIN: look_again,
    NAME_UNKNOWN: naming.name_unknown,
}
