# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""Every refusal reaches the thread (issue 22, item 9): a name over 80 characters is answered
with a reply saying so, as every other refusal of a message is, and nothing is left half-done."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import Media, RunningBot, reply_containing, share_video
from fakes.slack import BOT_USER_ID, FakeSlack

from tools.reid.facade import ReIDTool

pytest_plugins = ["bot_fixtures"]


def test_a_name_over_80_characters_is_refused_in_the_thread(
    fake: FakeSlack,
    start_bot: Callable[..., RunningBot],
    canned_tool: ReIDTool,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(canned_tool)
    name = "Alexandra " * 9  # 90 characters
    files = [share_video(fake, media), fake.add_file("alice.png", media.alice_png, "image/png", "png")]
    ts, _ = running.mention(f'<@{BOT_USER_ID}> "{name.strip()}"=alice.png', files)
    reply = reply_containing(fake, ts, "at most 80")
    assert "89 characters" in reply["text"] and reply["thread_ts"] == ts
    assert "Traceback" not in caplog.text
    assert not running.bot.store.resume(), "no request was stored for it"
