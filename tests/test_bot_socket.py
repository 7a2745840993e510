# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The bot in Socket Mode, against the fake's loopback WebSocket server (whose URL the fake hands
out from apps.connections.open): envelopes are acked and answered like HTTP requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import (
    ENGINE_TIMEOUT_S,
    Media,
    block_text,
    finished,
    mention_payload,
    reply_containing,
    share_alice_and_bob,
    share_video,
)
from fakes.slack import BOT_USER_ID, TEAM_ID, USER_ID, FakeSlack

from bot.reid.app import ReIDBot
from bot.reid.server import running
from bot.reid.settings import BotSettings
from tools.reid.facade import ReIDTool

pytest_plugins = ["bot_fixtures"]


@contextmanager
def connected(bot: ReIDBot, fake: FakeSlack) -> Iterator[None]:
    """The bot connected over Socket Mode on an event loop of its own thread, until the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        try:
            async with running(bot, socket_mode=True):
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        fake.wait_for(lambda: fake.socket_connections or failure)
        assert not failure, failure
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
        loop.close()


def test_an_app_mention_envelope_is_acked_and_answered_in_its_thread(
    fake: FakeSlack, bot_settings: BotSettings, engine_tool: ReIDTool, media: Media
) -> None:
    with connected(ReIDBot(bot_settings, engine_tool), fake):
        files = [share_video(fake, media), *share_alice_and_bob(fake, media)]
        payload = mention_payload(fake, f"<@{BOT_USER_ID}> who is here?", files)
        envelope_id = fake.socket_send("events_api", payload)
        assert fake.wait_for_ack(envelope_id)["envelope_id"] == envelope_id

        ts = payload["event"]["ts"]
        assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
        assert "*Bob*: found" in block_text(reply_containing(fake, ts, "*Alice*: found"))
        [upload] = fake.calls_to("files.completeUploadExternal")
        assert upload.params["thread_ts"] == ts


def test_a_slash_command_for_help_is_answered_in_the_ack(
    fake: FakeSlack, bot_settings: BotSettings, canned_tool: ReIDTool
) -> None:
    with connected(ReIDBot(bot_settings, canned_tool), fake):
        command = {
            "team_id": TEAM_ID,
            "channel_id": "C0FAKECHAN",
            "user_id": USER_ID,
            "command": "/reid",
            "text": "help",
            "trigger_id": "trigger-socket",
            "response_url": f"{fake.url}response/3",
        }
        envelope_id = fake.socket_send("slash_commands", command)
        ack = fake.wait_for_ack(envelope_id)
    assert "How to ask me" in ack["payload"]["text"]
