"""Taking back from Slack what the bot posted for the requests that showed a removed person.

Removing a person deletes the stored results that showed them (`Store.forget`) and queues what
the bot posted for those requests (`Store.record_posted`): the pictures it uploaded (keyframes,
the timeline, unknown people's faces) are deleted with ``files.delete``; its messages (the /reid
parent, the status, the answer, the replies under it) are replaced by a note saying why, with
``chat.update``, so that the thread and other people's messages in it stay. The queue is kept in
the store until Slack has done it: a bot stopped half-way takes up the rest at its next start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reid.store import Posted, Store

log = logging.getLogger(__name__)

REMOVED_TEXT = (
    ":wastebasket: Removed: this showed someone who has since been removed from the people this bot remembers."
)
ALREADY_GONE = frozenset({"file_not_found", "file_deleted", "message_not_found"})
"""Slack shows nothing of it any more: someone deleted it already."""
REFUSED = frozenset({"cant_delete_file", "cant_update_message", "channel_not_found", "not_in_channel", "is_archived"})
"""Slack will never let the bot do it (the bot left the channel, or it is not the bot's)."""


@dataclass
class Retracted:
    """What one pass over the queue did."""

    messages: int = 0
    files: int = 0
    refused: int = 0
    waiting: int = 0

    def text(self) -> str:
        """One sentence for the person who asked for the removal."""
        if not (self.messages or self.files or self.refused or self.waiting):
            return "The bot had posted nothing of theirs in Slack."
        parts = [
            f"{self.files} picture{'s' * (self.files != 1)} deleted",
            f"{self.messages} message{'s' * (self.messages != 1)} replaced by a removal note",
        ]
        text = f"In Slack: {' and '.join(parts)}."
        if self.refused:
            text += (
                f" {self.refused} could not be taken back (the bot left the channel, or it was archived): "
                "a workspace admin can delete them."
            )
        if self.waiting:
            text += f" {self.waiting} could not be reached now; the bot tries again at its next start."
        return text


async def retract(client: AsyncWebClient, store: Store) -> Retracted:
    """Take back everything queued; what Slack could not do now stays queued."""
    done = Retracted()
    for posted in store.retractions():
        try:
            await _take_back(client, posted)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ALREADY_GONE:
                store.retracted(posted)
                continue
            log.warning("cannot take back a %s in %s: %s", posted.kind, posted.channel, error)
            if error in REFUSED:
                store.retracted(posted)
                done.refused += 1
            else:
                done.waiting += 1
            continue
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("cannot reach Slack to take back a %s: %s", posted.kind, type(exc).__name__)
            done.waiting += 1
            continue
        store.retracted(posted)
        if posted.kind == "file":
            done.files += 1
        else:
            done.messages += 1
    if done.messages or done.files or done.refused or done.waiting:
        log.info(
            "taken back from Slack: %d files, %d messages; %d refused, %d waiting",
            done.files,
            done.messages,
            done.refused,
            done.waiting,
        )
    return done


async def retract_queued(client: AsyncWebClient, store: Store) -> None:
    """`retract` as a job of its own (at start-up): what it did is logged."""
    await retract(client, store)


async def _take_back(client: AsyncWebClient, posted: Posted) -> None:
    if posted.kind == "file":
        await client.files_delete(file=posted.ref)
    else:
        await client.chat_update(channel=posted.channel, ts=posted.ref, text=REMOVED_TEXT, blocks=[])
