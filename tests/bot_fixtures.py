"""Fixtures of the Slack bot's scenario tests: the loopback Slack fake, the bot served by uvicorn on
127.0.0.1, requests signed as Slack signs them, and media built from package-shipped portraits.

Test modules load it with ``pytest_plugins = ["bot_fixtures"]``.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fakes.slack import APP_ID, TEAM_ID, USER_ID, FakeSlack, sign_request
from fastapi import FastAPI
from PIL import Image

from bot.reid.app import ReIDBot
from bot.reid.server import create_app
from bot.reid.settings import BotSettings
from tools.reid import synth
from tools.reid.facade import ReIDTool
from tools.reid.progress import ProgressFn
from tools.reid.schemas import MediaInfo, PersonResult, ReIDRequest, ReIDResult, Stats
from tools.reid.settings import ReIDSettings

SIGNING_SECRET = "bot-test-signing-secret"
CHANNEL = "C0FAKECHAN"
ENGINE_TIMEOUT_S = 90.0
"""A full run on 2 shared cores: download, engine, keyframes, upload."""


# --- Media ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    """Bytes of the files users share in the scenarios."""

    clip: bytes
    """5.5 s, 640x360: the astronaut 0.5-3 s on the left, Grace Hopper 3-5.5 s on the right."""
    alice_png: bytes
    bob_jpg: bytes
    group_jpg: bytes
    """Both portraits side by side: a photo to search."""


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def media(make_clip: Callable[..., Path]) -> Media:
    clip = make_clip(
        "bot_two_people",
        [
            synth.Actor(synth.astronaut_portrait(), 0.5, 3.0, synth.still(0.3)),
            synth.Actor(synth.hopper_portrait(), 3.0, 5.5, synth.still(0.7)),
        ],
        5.5,
    )
    group = Image.new("RGB", (800, 512), (90, 90, 90))
    group.paste(synth.astronaut(), (0, 0))
    group.paste(synth.grace_hopper().resize((256, 300)), (530, 100))
    return Media(
        clip=clip.read_bytes(),
        alice_png=_encoded(synth.astronaut(), "PNG"),
        bob_jpg=_encoded(synth.grace_hopper(), "JPEG"),
        group_jpg=_encoded(group, "JPEG"),
    )


def share_video(fake: FakeSlack, media: Media, name: str = "clip.mp4", stub: bool = False) -> dict[str, Any]:
    return fake.add_file(name, media.clip, "video/mp4", "mp4", stub=stub)


def share_alice_and_bob(fake: FakeSlack, media: Media) -> list[dict[str, Any]]:
    return [
        fake.add_file("alice.png", media.alice_png, "image/png", "png"),
        fake.add_file("bob.jpg", media.bob_jpg, "image/jpeg", "jpg"),
    ]


# --- The ReID tool ----------------------------------------------------------------------------


@dataclass
class CannedBackend:
    """A ReID backend that answers at once with "nobody found": for scenarios about the bot's
    plumbing (dedupe, restarts, refusals) that do not need the engine's seconds of CPU."""

    requests: list[ReIDRequest] = field(default_factory=list)

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        self.requests.append(request)
        progress(1.0)
        return ReIDResult(
            media=MediaInfo(kind="video", duration_s=5.5, width=640, height=360, fps=25.0),
            persons=[PersonResult(name=person.name, found=False, confidence=0.0) for person in request.persons],
            unknown_faces=0,
            text="Nobody you asked about appears in this footage.",
            stats=Stats(frames_decoded=1, frames_analysed=1, faces_detected=0, wall_s=0.1),
        )


@pytest.fixture
def engine_tool() -> ReIDTool:
    """The real engine, on one thread: the cores are shared with other test runs."""
    return ReIDTool(ReIDSettings(workers=1))


@pytest.fixture
def canned() -> CannedBackend:
    return CannedBackend()


@pytest.fixture
def canned_tool(canned: CannedBackend) -> ReIDTool:
    return ReIDTool(ReIDSettings(workers=1), backend=canned)


# --- Slack and the bot ------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def bot_settings(fake: FakeSlack, tmp_path: Path) -> BotSettings:
    return BotSettings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=fake.app_token,
        slack_api_url=fake.base_url,
        db_path=tmp_path / "bot.reid.db",
        work_dir=tmp_path / "work",
        progress_interval_s=0.3,
    )


class LiveServer:
    """A FastAPI app served by uvicorn on 127.0.0.1 (a port the OS picks) in a background thread.

    The socket is bound before the app is built, so the app may be told its own URL.
    """

    def __init__(self, build: Callable[[str], FastAPI]) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.app = build(self.url)
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


@contextmanager
def live_server(build: Callable[[str], FastAPI]) -> Iterator[LiveServer]:
    server = LiveServer(build).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RunningBot:
    """The bot under test, and requests to it signed as Slack signs them."""

    url: str
    bot: ReIDBot
    fake: FakeSlack
    stop: Callable[[], None]
    """Stops the bot as a shutdown would (its store stays for the next bot)."""
    secret: str = SIGNING_SECRET

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST to /slack/events as is: the caller decides about signatures."""
        headers = {"Content-Type": content_type, **(headers or {})}
        return httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10)

    def signed(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.post(body, content_type, {**sign_request(self.secret, body), **(headers or {})})

    def event(self, payload: dict[str, Any], retry_num: int | None = None) -> httpx.Response:
        retry = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self.signed(json.dumps(payload).encode(), "application/json", retry)

    def command(self, text: str = "", channel: str = CHANNEL, user: str = USER_ID) -> httpx.Response:
        form = {
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake-team",
            "channel_id": channel,
            "channel_name": "footage",
            "user_id": user,
            "user_name": "alice.user",
            "command": "/reid",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": f"{self.fake.url}response/1",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        return self.signed(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.signed(body, "application/x-www-form-urlencoded")

    def mention(self, text: str, files: list[dict[str, Any]], event_id: str | None = None) -> tuple[str, str]:
        """A user's message with files, delivered as app_mention; returns (message ts, event_id)."""
        payload = mention_payload(self.fake, text, files, event_id)
        response = self.event(payload)
        assert response.status_code == 200, response.text
        return payload["event"]["ts"], payload["event_id"]


def _interaction(kind: str, user: str) -> dict[str, Any]:
    """What every interaction payload Slack sends begins with."""
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "fake-team"},
        "user": {"id": user, "username": "alice.user", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
    }


def button_click(message: dict[str, Any], label: str, user: str = USER_ID) -> dict[str, Any]:
    """The block_actions payload Slack sends when ``user`` clicks the button ``label`` of ``message``."""
    [(block_id, button)] = [
        (block["block_id"], element)
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == label
    ]
    return {
        **_interaction("block_actions", user),
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "channel": {"id": CHANNEL, "name": "footage"},
        "message": message,
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{**button, "block_id": block_id, "action_ts": f"{time.time():.6f}"}],
    }


def view_submission(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission payload as Slack sends it for the opened view with these state values."""
    return {
        **_interaction("view_submission", USER_ID),
        "trigger_id": "trigger-submit",
        "view": {**view, "id": "V0FAKE", "team_id": TEAM_ID, "state": {"values": values}},
    }


def mention_payload(
    fake: FakeSlack, text: str, files: list[dict[str, Any]], event_id: str | None = None, channel: str = CHANNEL
) -> dict[str, Any]:
    """An app_mention event_callback for a message the fake now holds (so reactions and replies work)."""
    message = fake.add_message(channel, text, files=files or None)
    event = {
        "type": "app_mention",
        "user": USER_ID,
        "text": text,
        "ts": message["ts"],
        "channel": channel,
        "event_ts": message["ts"],
        "files": files,
    }
    return fake.event_callback(event, event_id)


@pytest.fixture
def start_bot(fake: FakeSlack, bot_settings: BotSettings) -> Iterator[Callable[..., RunningBot]]:
    """Starts the bot's HTTP app: ``start_bot(tool, settings=None)``; every bot stops at teardown."""
    servers: list[LiveServer] = []

    def start(tool: ReIDTool, settings: BotSettings | None = None) -> RunningBot:
        chosen = settings or bot_settings
        server = LiveServer(lambda url: create_app(chosen.model_copy(update={"public_url": url}), tool)).start()
        servers.append(server)
        return RunningBot(server.url, server.app.state.bot, fake, server.stop)

    yield start
    for server in reversed(servers):
        server.stop()


# --- Reading what the bot did -----------------------------------------------------------------


def thread_replies(fake: FakeSlack, thread_ts: str, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The bot's messages in one thread, as they are now (status updates applied)."""
    return [m for m in fake.messages(channel) if m.get("thread_ts") == thread_ts and m.get("bot_id")]


def reactions_on(fake: FakeSlack, ts: str, channel: str = CHANNEL) -> list[str]:
    message = next(m for m in fake.messages(channel) if m["ts"] == ts)
    return [reaction["name"] for reaction in message.get("reactions", [])]


def finished(fake: FakeSlack, ts: str, timeout: float = 10.0) -> list[str]:
    """Wait until the request on message ``ts`` ends (✅ or ❌) and return the message's reactions."""

    def ended() -> list[str] | None:
        names = reactions_on(fake, ts)
        return names if {"white_check_mark", "x"} & set(names) else None

    return fake.wait_for(ended, timeout)


def block_text(message: dict[str, Any]) -> str:
    """All the text of a message's blocks (header, sections, context, button labels), for
    assertions on what a reader sees."""
    texts = []
    for block in message.get("blocks") or []:
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text", "")
            texts.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(texts)


def reply_containing(fake: FakeSlack, thread_ts: str, needle: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait for the bot's message in the thread whose blocks (or text) contain ``needle``."""

    def find() -> dict[str, Any] | None:
        return next(
            (m for m in thread_replies(fake, thread_ts) if needle in block_text(m) or needle in m.get("text", "")),
            None,
        )

    return fake.wait_for(find, timeout)
