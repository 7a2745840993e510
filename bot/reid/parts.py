"""The parts the listeners and the handlers work with, built once by `bot.reid.app`.

They are handed these, not the bot, so that neither needs to know the bot that holds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.reid.run import Runner
from bot.reid.settings import BotSettings
from bot.reid.store import Store
from bot.reid.worker import Worker


@dataclass(frozen=True)
class Parts:
    """What a listener or a handler may use: the settings, the Web API client, the store, the
    runner, the ``desk`` worker (Web API work after acks), and ``enqueue`` (an analysis, on the
    analysis worker)."""

    settings: BotSettings
    client: AsyncWebClient
    store: Store
    runner: Runner
    desk: Worker
    enqueue: Callable[[str], None]
