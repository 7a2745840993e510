# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The bot over the remote backend: our real ReID service on loopback fetches the Slack files the
bot stages at /reid/media/…, and its signed callback to /reid/callback/… ends in the same thread
reply as a local run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import (
    CHANNEL,
    ENGINE_TIMEOUT_S,
    Media,
    RunningBot,
    block_text,
    finished,
    live_server,
    reply_containing,
    share_alice_and_bob,
    share_video,
)
from fakes.slack import BOT_USER_ID, FakeSlack

from bot.reid.settings import BotSettings
from tools.reid.facade import ReIDTool
from tools.reid.remote.backend import RemoteBackend
from tools.reid.remote.signing import sign_callback
from tools.reid.schemas import ReIDRequest
from tools.reid.service import create_app as create_service
from tools.reid.settings import ReIDSettings

pytest_plugins = ["bot_fixtures"]

SERVICE_KEY = "service-test-key"
CALLBACK_SECRET = "callback-test-secret"


def test_a_remote_run_is_answered_through_the_signed_callback(
    fake: FakeSlack, start_bot: Callable[..., RunningBot], media: Media, tmp_path: Path
) -> None:
    service_settings = ReIDSettings(
        api_keys=SERVICE_KEY,
        db_path=tmp_path / "service.db",
        allow_private_urls=True,  # it fetches from the bot on 127.0.0.1 and calls it back there
        callback_secret=CALLBACK_SECRET,
        workers=1,
    )
    with live_server(lambda _url: create_service(service_settings)) as service:
        remote = ReIDSettings(
            backend="remote", api_url=service.url, api_key=SERVICE_KEY, callback_secret=CALLBACK_SECRET
        )
        running = start_bot(ReIDTool(remote))
        files = [share_video(fake, media), *share_alice_and_bob(fake, media)]
        ts, _ = running.mention(f"<@{BOT_USER_ID}> when is Bob on screen?", files)

        assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    answer = block_text(reply_containing(fake, ts, "*Alice*: found"))
    assert "*Bob*: found" in answer
    [upload] = fake.calls_to("files.completeUploadExternal")
    assert upload.params["thread_ts"] == ts
    kinds = sorted(k["bytes"][:4] for k in fake.uploaded_files.values())
    assert kinds[0] == b"\x89PNG" and all(k.startswith(b"\xff\xd8") for k in kinds[1:]), "the timeline, then JPEGs"

    [entry] = running.bot.store.audit()
    stored = running.bot.store.get(entry.request_id)
    assert stored is not None and stored.state == "done" and stored.task_id
    assert stored.callback_token is None and stored.media_token is None, "the tokens die with the request"


def test_callback_and_media_routes_refuse_what_they_do_not_know(
    start_bot: Callable[..., RunningBot], tmp_path: Path
) -> None:
    remote = ReIDSettings(backend="remote", api_url="http://127.0.0.1:9", callback_secret=CALLBACK_SECRET)
    running = start_bot(ReIDTool(remote))
    body = b'{"status": 0, "task_id": "t1", "data": {"text": "nobody"}}'
    callback = f"{running.url}/reid/callback/not-a-token"

    assert httpx.post(callback, content=body).status_code == 401
    forged = sign_callback("another-secret", body)
    assert httpx.post(callback, content=body, headers=forged).status_code == 401
    assert httpx.post(callback, content=body, headers=sign_callback(CALLBACK_SECRET, body)).status_code == 404
    assert httpx.get(f"{running.url}/reid/media/not-a-token/footage.mp4").status_code == 404
    assert httpx.get(f"{running.url}/healthz").json() == {"status": "ok"}


class SilentService(RemoteBackend):
    """A remote backend whose service accepts every task and never calls back by itself."""

    def __init__(self, settings: ReIDSettings) -> None:
        super().__init__(settings)
        self.submitted: list[tuple[ReIDRequest, str]] = []

    def submit(self, request: ReIDRequest, callback_url: str | None) -> str:
        assert callback_url is not None
        self.submitted.append((request, callback_url))
        return f"task-{len(self.submitted)}"


def _silent_tool(timeout_s: float = 3600.0) -> tuple[ReIDTool, SilentService]:
    settings = ReIDSettings(backend="remote", api_task_timeout_s=timeout_s, callback_secret=CALLBACK_SECRET)
    service = SilentService(settings)
    return ReIDTool(settings, backend=service), service


def test_a_failed_remote_task_is_reported_in_the_thread(
    fake: FakeSlack, start_bot: Callable[..., RunningBot], media: Media
) -> None:
    tool, service = _silent_tool()
    running = start_bot(tool)
    ts, _ = running.mention(f"<@{BOT_USER_ID}>", [share_video(fake, media), *share_alice_and_bob(fake, media)])
    [(request, callback_url)] = fake.wait_for(lambda: service.submitted)
    assert request.media.startswith(f"{running.url}/reid/media/") and request.media.endswith("/footage.mp4")
    staged = httpx.get(request.media)
    assert staged.status_code == 200 and staged.content == media.clip

    failure = {
        "status": -1,
        "task_id": "task-1",
        "data": {"text": "Reference photo for Bob: no face found.", "error": "invalid_input"},
    }
    body = json.dumps(failure).encode()
    assert httpx.post(callback_url, content=body, headers=sign_callback(CALLBACK_SECRET, body)).status_code == 200
    assert finished(fake, ts) == ["x"]
    assert "Reference photo for Bob: no face found." in reply_containing(fake, ts, ":x:")["text"]
    repeated = httpx.post(callback_url, content=body, headers=sign_callback(CALLBACK_SECRET, body))
    assert repeated.status_code == 404, "a callback is used once"
    assert httpx.get(request.media).status_code == 404, "staged files go with the request"


def test_a_remote_task_that_never_calls_back_is_given_up(
    fake: FakeSlack, start_bot: Callable[..., RunningBot], media: Media, bot_settings: BotSettings
) -> None:
    tool, service = _silent_tool(timeout_s=1.0)
    running = start_bot(tool)
    ts, _ = running.mention(f"<@{BOT_USER_ID}>", [share_video(fake, media), *share_alice_and_bob(fake, media)])
    assert finished(fake, ts) == ["x"]
    assert "did not answer within 1 s." in reply_containing(fake, ts, ":x:")["text"]
    assert len(service.submitted) == 1
    work = running.bot.runner.work.path
    assert work.parent == bot_settings.work_dir
    assert fake.wait_for(lambda: not any(work.iterdir())), "the request's folder is gone"
    assert all(m.get("thread_ts") == ts for m in fake.messages(CHANNEL) if m.get("bot_id"))
