# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The Slack bot under hostile or unlucky input (issue 10): no request body in the logs, no 500
for bytes that are not UTF-8, and a clear reply for an image bomb."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bombs import jpeg_claiming, png_of
from bot_fixtures import (
    ENGINE_TIMEOUT_S,
    Media,
    RunningBot,
    finished,
    mention_payload,
    reply_containing,
    share_video,
)
from fakes.slack import BOT_USER_ID, FakeSlack, sign_request

from tools.reid.facade import ReIDTool

pytest_plugins = ["bot_fixtures"]

StartBot = Callable[..., RunningBot]
PRIVATE_URL = "https://files.slack.com/files-pri/T0-F0SECRET/private-holiday.mp4"
PRIVATE_TEXT = "find my neighbour Mallory in this private footage"


def test_a_stale_request_leaves_no_body_in_the_logs(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack's events reach the bot with an old timestamp when clocks drift: refused (401), and
    neither the private file URL nor the message text reaches the logs."""
    caplog.set_level(logging.DEBUG)
    running = start_bot(canned_tool)
    payload = mention_payload(
        fake, f"<@{BOT_USER_ID}> {PRIVATE_TEXT}", [{"id": "F0SECRET", "url_private": PRIVATE_URL}]
    )
    body = json.dumps(payload).encode()
    stale = sign_request(running.secret, body, timestamp=int(time.time()) - 600)
    response = running.post(body, "application/json", stale)
    assert response.status_code == 401
    assert "Invalid request signature" in caplog.text, "the refusal itself is still logged"
    for secret in (PRIVATE_URL, "files-pri", "Mallory", "private footage"):
        assert secret not in caplog.text, f"the logs hold {secret!r}"


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_body_that_is_not_utf8_is_refused_not_a_crash(
    start_bot: StartBot, canned_tool: ReIDTool, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    running = start_bot(canned_tool)
    body = b"payload=\xff\xfe\xfa"
    send = running.signed if signed else running.post
    response = send(body, "application/x-www-form-urlencoded")
    assert response.status_code in (400, 401), response.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("name", "data"),
    [("huge.jpg", lambda: jpeg_claiming(60000, 60000)), ("huge.png", lambda: png_of(12000, 12000))],
    ids=["jpeg", "png"],
)
def test_an_image_bomb_gets_a_clear_reply(
    fake: FakeSlack, start_bot: StartBot, engine_tool: ReIDTool, media: Media, name: str, data: Callable[[], bytes]
) -> None:
    """A reference photo whose header claims a gigantic picture: the user is told, the bot lives on."""
    running = start_bot(engine_tool)
    mimetype = "image/jpeg" if name.endswith("jpg") else "image/png"
    files = [share_video(fake, media), fake.add_file(name, data(), mimetype, name.rsplit(".", 1)[1])]
    ts, _ = running.mention(f"<@{BOT_USER_ID}> Mallory={name}", files)
    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["x"]
    reply = reply_containing(fake, ts, "megapixels")
    assert name in reply["text"] and "Mallory" in reply["text"]
