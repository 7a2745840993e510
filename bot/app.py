"""The bot's parts put together: Slack client, Bolt app, store, worker and runner.

HTTP mode and Socket Mode (`bot.server`) both serve one `ReIDBot`; only the transport differs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.presentation import QUEUED, not_invited_text, parent_message
from bot.run import Runner
from bot.settings import BotSettings
from bot.store import Store
from bot.submission import Submission
from bot.thread import SEEN, RequestThread
from bot.worker import Worker
from tools.reid.facade import ReIDTool, stop_engine_workers
from tools.reid.logs import keep_request_bodies_out_of_logs

log = logging.getLogger(__name__)

NOT_INVITED = frozenset({"not_in_channel", "channel_not_found"})


class ReIDBot:
    """One Slack bot over one ReID tool.

    Args:
        settings: the bot's configuration.
        tool: the ReID tool; by default one over the process-wide ``REID_*`` settings.
    """

    def __init__(self, settings: BotSettings, tool: ReIDTool | None = None) -> None:
        keep_request_bodies_out_of_logs()
        self.settings = settings
        self.tool = tool or ReIDTool()
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
        )
        self.store = Store(settings.db_path)
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=httpx.Timeout(30.0, read=120.0))
        self.runner = Runner(settings, self.tool, self.client, self.store, self.http)
        self.worker = Worker(settings.workers)
        signing_secret = settings.slack_signing_secret
        self.bolt = AsyncApp(
            name="reid-bot",
            client=self.client,
            signing_secret=signing_secret.get_secret_value() if signing_secret else "",
            # Acknowledge an event only after its request is in the store: a crash in between
            # then makes Slack retry it (the store dedupes retries) instead of losing it. The
            # listeners only parse, store and queue, well inside Slack's 3 seconds.
            process_before_response=True,
        )
        listeners.register(self.bolt, self)

    async def start(self) -> None:
        """Start the worker and queue what a previous process left unfinished."""
        self.worker.start()
        resumed = self.store.resume()
        if resumed:
            log.info("resuming %d unfinished requests", len(resumed))
        for request_id in resumed:
            self.enqueue(request_id)

    async def stop(self) -> None:
        """Cancel the work in flight (its requests resume at the next start), then end the
        engine's worker processes, so none outlives the bot."""
        await self.worker.stop()
        stop_engine_workers()
        await self.runner.close()
        await self.http.aclose()
        self.store.close()

    def enqueue(self, request_id: str) -> None:
        self.worker.submit(partial(self.runner.run, request_id))

    async def accept(self, submission: Submission, ack: Callable[[], Awaitable[object]] | None = None) -> None:
        """Take on a request: post the /reid parent message if it needs one, record the request
        (and its audit entry), then ``ack`` (a modal submission's), show it was seen, queue it.
        Recording before the ack means a crash never loses a request Slack was told we have.

        Where the bot is not a member it cannot answer; the user then gets a direct message saying so.
        """
        stored = None
        try:
            try:
                if submission.thread_ts is None:
                    parent = await self.client.chat_postMessage(
                        channel=submission.channel, **parent_message(submission).as_kwargs()
                    )
                    submission = submission.model_copy(update={"thread_ts": parent["ts"], "message_ts": parent["ts"]})
                stored = self.store.add(submission)
            finally:
                if ack is not None:
                    await ack()
            thread = RequestThread(self.client, self.store, stored)
            await thread.react(SEEN)
            await thread.status(QUEUED)
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_INVITED:
                raise
            if stored is not None:
                self.store.finish(stored.id, "failed")
            await self.client.chat_postMessage(channel=submission.user, text=not_invited_text(submission.channel))
            return
        log.info("request %s accepted from %s in %s", stored.reference, submission.source, submission.channel)
        self.enqueue(stored.id)
