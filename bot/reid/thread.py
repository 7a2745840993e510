"""One request's place in Slack: its thread, its one status message, and its reactions.

Every message and file posted here is recorded with the request (`Store.record_posted`), so
that removing a person it showed takes them back from Slack too (`bot.reid.retract`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reid.presentation import PICTURES_COMMENT, Message, status_message
from bot.reid.store import Store, StoredRequest

log = logging.getLogger(__name__)

SEEN = "eyes"
DONE = "white_check_mark"
FAILED = "x"


class RequestThread:
    """Talks in the thread of one stored request; remembers its status message in the store."""

    def __init__(self, client: AsyncWebClient, store: Store, stored: StoredRequest) -> None:
        self.client = client
        self.store = store
        self.request_id = stored.id
        self.submission = stored.submission
        self.status_ts = stored.status_ts

    @property
    def channel(self) -> str:
        return self.submission.channel

    async def status(self, note: str) -> None:
        """Post the status message the first time, update it afterwards (also after a restart)."""
        message = status_message(self.submission, note)
        if self.status_ts is not None:
            await self.client.chat_update(channel=self.channel, ts=self.status_ts, **message.as_kwargs())
            return
        posted = await self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.submission.thread_ts, **message.as_kwargs()
        )
        self.status_ts = posted["ts"]
        self.store.set_status_ts(self.request_id, posted["ts"])
        self.store.record_posted(self.request_id, self.channel, "message", [posted["ts"]])

    async def reply(self, message: Message) -> str:
        """Posts ``message`` in the thread; returns its ts."""
        posted = await self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.submission.thread_ts, **message.as_kwargs()
        )
        self.store.record_posted(self.request_id, self.channel, "message", [str(posted["ts"])])
        return str(posted["ts"])

    async def update(self, ts: str, message: Message) -> None:
        await self.client.chat_update(channel=self.channel, ts=ts, **message.as_kwargs())

    async def upload(self, paths: Sequence[Path], titles: Sequence[str]) -> dict[str, str]:
        """Several files, one ``files.completeUploadExternal``, shared into the thread right after
        the answer; returns each file name's Slack file id."""
        uploads = [
            {"file": str(path), "title": title, "alt_txt": title} for path, title in zip(paths, titles, strict=True)
        ]
        response = await self.client.files_upload_v2(
            file_uploads=uploads,
            channel=self.channel,
            thread_ts=self.submission.thread_ts,
            initial_comment=PICTURES_COMMENT,
        )
        files = response.get("files") or []
        ids = {path.name: str(file["id"]) for path, file in zip(paths, files, strict=False) if file.get("id")}
        self.store.record_posted(self.request_id, self.channel, "file", list(ids.values()))
        return ids

    async def react(self, add: str, remove: str | None = None) -> None:
        """Swap reactions on the request's message. A reaction is decoration: failing to set one
        (already there, message deleted) is logged, never allowed to fail the request."""
        if self.submission.message_ts is None:
            return
        changes = [(self.client.reactions_remove, remove), (self.client.reactions_add, add)]
        for call, name in changes:
            if name is None:
                continue
            try:
                await call(channel=self.channel, timestamp=self.submission.message_ts, name=name)
            except SlackApiError as exc:
                log.warning("reaction %s on request %s: %s", name, self.request_id[:8], exc.response.get("error"))
