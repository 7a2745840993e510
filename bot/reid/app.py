"""The bot's parts put together: Slack client, Bolt app, store, workers and runner.

HTTP mode and Socket Mode (`bot.reid.server`) both serve one `ReIDBot`; only the transport differs.

Slack wants an answer within 3 seconds, and a slow Web API must not delay it: the listeners only
check, store and acknowledge (`bot.reid.listeners`); every Web API call happens afterwards on the
``desk`` worker (`bot.reid.handling`), and analyses on their own ``worker``, so a short reply never
waits behind minutes of CPU.
"""

from __future__ import annotations

import logging
from functools import partial

import httpx
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.reid import handling, listeners
from bot.reid.parts import Parts
from bot.reid.retract import retract_queued
from bot.reid.run import RESULT_KIND, Runner
from bot.reid.settings import BotSettings
from bot.reid.store import Store
from bot.reid.worker import Worker
from tools.reid.facade import ReIDTool, open_gallery, stop_engine_workers
from tools.reid.logs import keep_request_bodies_out_of_logs

log = logging.getLogger(__name__)

DESK_WORKERS = 4
"""Web API work after acks (reading files, replying, reacting) runs this many at a time: each
job is a few short calls, so a handful keeps replies prompt without flooding Slack's rate limits."""


class _DropClientNotice(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` from the environment even when it is given a client, then warns
    that the token will be unused. We give it a client on purpose (our base URL and retry handlers),
    so on our Bolt logger that one warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


BOLT_LOG = logging.getLogger("bot.reid.bolt")
BOLT_LOG.addFilter(_DropClientNotice())


def _client(settings: BotSettings, token: str | None) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


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
        self.client = _client(settings, settings.slack_bot_token.get_secret_value())
        self.store = Store(
            settings.db_path, settings.result_retention_hours * 3600, settings.audit_retention_days * 86400
        )
        self.tool.gallery = open_gallery(settings.db_path)
        self.tool.gallery.keep_results(RESULT_KIND, self.store.forget)
        self.tool.gallery.purge(settings.audit_retention_days * 86400)
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=httpx.Timeout(30.0, read=120.0))
        self.runner = Runner(settings, self.tool, self.client, self.store, self.http)
        self.worker = Worker(settings.workers)
        self.desk = Worker(DESK_WORKERS)
        self._identity: AuthorizeResult | None = None
        signing_secret = settings.slack_signing_secret

        async def authorize() -> AuthorizeResult:
            """Bolt passes the arguments a function names; a bound method's ``self`` confuses it."""
            return await self._authorize()

        self.bolt = AsyncApp(
            name="reid-bot",
            # Bolt's own client gets the token from `_authorize`, which asks Slack who we are once,
            # at start: its default (auth.test on the first request) would put a Web API call
            # before the first acknowledgement.
            client=_client(settings, None),
            authorize=authorize,
            signing_secret=signing_secret.get_secret_value() if signing_secret else "",
            # Acknowledge only after a delivery is in the store: a crash in between then makes
            # Slack retry it (the store dedupes retries) instead of losing it. The listeners only
            # check and store, so the acknowledgement never waits for Slack's Web API.
            process_before_response=True,
            logger=BOLT_LOG,
        )
        self.parts = Parts(
            settings=settings,
            client=self.client,
            store=self.store,
            runner=self.runner,
            desk=self.desk,
            enqueue=self.enqueue,
        )
        listeners.register(self.bolt, self.parts)

    async def start(self) -> None:
        """Learn who the bot is, start the workers, and take up what a previous process left:
        deliveries not yet handled, requests not yet answered, a removed person's messages and
        pictures not yet taken back from Slack."""
        await self._authorize()
        self.worker.start()
        self.desk.start()
        for entry_id in self.store.inbox():
            self.desk.submit(partial(handling.handle, self.parts, entry_id))
        resumed = self.store.resume()
        if resumed:
            log.info("resuming %d unfinished requests", len(resumed))
        for request_id in resumed:
            handling.accept(self.parts, request_id, resumed=True)
        if self.store.retractions():  # a removal the previous process had not finished in Slack
            self.desk.submit(partial(retract_queued, self.client, self.store))

    async def stop(self) -> None:
        """Cancel the work in flight (its requests resume at the next start), then end the
        engine's helper threads, so no segment runs on while the bot exits."""
        await self.desk.stop()
        await self.worker.stop()
        stop_engine_workers()
        await self.runner.close()
        await self.http.aclose()
        self.store.close()

    def enqueue(self, request_id: str) -> None:
        self.worker.submit(partial(self.runner.run, request_id))

    async def _authorize(self) -> AuthorizeResult:
        """The bot's identity and token for Bolt, from one ``auth.test``."""
        if self._identity is None:
            token = self.settings.slack_bot_token.get_secret_value()
            self._identity = AuthorizeResult.from_auth_test_response(
                auth_test_response=await self.client.auth_test(), bot_token=token
            )
        return self._identity
