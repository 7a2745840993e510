# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The bot's HTTP front door (issue 22, item 2): bodies capped by their length and as they
stream, before the signature check; the service's head and body deadlines; half-open
connections closed; malformed signed bodies answered 400, never 500 with a traceback.

The size and deadline tests run ``reid bot`` as a process and read its peak memory (VmHWM)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import SIGNING_SECRET, RunningBot
from bot_process import BotServer
from fakes.slack import FakeSlack, sign_request
from loopback import read_until_closed

from tools.reid.facade import ReIDTool

pytest_plugins = ["bot_fixtures"]

MiB = 2**20


def _form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def _payload(value: object) -> bytes:
    return _form({"payload": json.dumps(value)})


JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MALFORMED: dict[str, tuple[bytes, str]] = {
    "JSON list": (b"[]", JSON),
    "JSON number": (b"1", JSON),
    "JSON string": (b'"x"', JSON),
    "JSON null": (b"null", JSON),
    "broken JSON": (b'{"type": ', JSON),
    "event a string": (b'{"type": "event_callback", "event": "x"}', JSON),
    "event a list": (b'{"type": "event_callback", "event": []}', JSON),
    "mention without channel": (
        b'{"type": "event_callback", "team_id": "T1", "event": {"type": "app_mention", "user": "U1"}}',
        JSON,
    ),
    "payload not JSON": (_form({"payload": "{"}), FORM),
    "payload a list": (_payload([]), FORM),
    "payload a number": (_payload(1), FORM),
    "command without channel": (_form({"command": "/reid", "team_id": "T1", "user_id": "U1"}), FORM),
    "command without trigger": (
        _form({"command": "/reid", "team_id": "T1", "user_id": "U1", "channel_id": "C1", "text": ""}),
        FORM,
    ),
    "modal with unreadable metadata": (
        _payload(
            {
                "type": "view_submission",
                "team": {"id": "T1"},
                "user": {"id": "U1"},
                "view": {"callback_id": "reid_request", "private_metadata": "not json", "state": {"values": {}}},
            }
        ),
        FORM,
    ),
}


@pytest.mark.parametrize("form", MALFORMED)
def test_a_malformed_signed_body_gets_400_not_a_traceback(
    start_bot: Callable[..., RunningBot], canned_tool: ReIDTool, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(canned_tool)
    body, content_type = MALFORMED[form]
    response = running.signed(body, content_type)
    assert response.status_code == 400, response.text
    assert "Traceback" not in caplog.text
    assert "refused a" in caplog.text, "the refusal is logged, in one line"
    assert running.post(b"{}", JSON).status_code == 401, "an unsigned body is still refused by its signature"


# --- The bot as a process ---------------------------------------------------------------------


@pytest.fixture
def bot_server(fake: FakeSlack, tmp_path: Path) -> Iterator[BotServer]:
    server = BotServer(fake, tmp_path, REID_HEADER_TIMEOUT_S="1", REID_BODY_TIMEOUT_S="1")
    yield server
    if server.process.poll() is None:
        server.close()


def _send_until_refused(sock: socket.socket, total: int) -> None:
    """Send up to ``total`` bytes of body, stopping where the server stops reading."""
    chunk = b"x" * MiB
    try:
        for _ in range(total // MiB):
            sock.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        return


def _head(path: str, headers: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n{headers}\r\n".encode()


@pytest.mark.parametrize("path", ["/slack/events", "/reid/callback/some-token"])
def test_an_oversized_unsigned_body_is_refused_before_it_is_read(bot_server: BotServer, path: str) -> None:
    """256 MiB announced, then 128 MiB streamed without a length: each refused (413) while
    the bot's peak memory grows by less than the caps' worth."""
    before = bot_server.peak_rss()
    with bot_server.connect() as sock:
        sock.sendall(_head(path, f"Content-Length: {256 * MiB}\r\n"))
        _send_until_refused(sock, 256 * MiB)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 413")
    with bot_server.connect() as sock:
        sock.sendall(_head(path, "Transfer-Encoding: chunked\r\n"))
        try:
            for _ in range(128):
                sock.sendall(f"{MiB:x}\r\n".encode() + b"x" * MiB + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert bot_server.peak_rss() - before < 48 * MiB
    assert bot_server.healthy()


def test_half_open_connections_and_slow_clients_are_closed(bot_server: BotServer) -> None:
    """30 connections that never speak, 5 with an unfinished head, one trickling a body: each is
    closed within a few seconds of the one-second deadlines, and the bot keeps serving."""
    silent = [bot_server.connect() for _ in range(30)]
    unfinished = [bot_server.connect() for _ in range(5)]
    for sock in unfinished:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
    started = time.monotonic()
    for sock in silent + unfinished:
        assert read_until_closed(sock) == b""
        sock.close()
    assert time.monotonic() - started < 10
    with bot_server.connect() as sock:
        sock.sendall(_head("/slack/events", "Content-Length: 1000\r\n") + b'{"type": ')
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer
    assert bot_server.healthy()
    assert "Traceback" not in bot_server.close()


def test_slacks_own_requests_still_pass(bot_server: BotServer) -> None:
    """The front door leaves a real (small, signed) Slack request alone: the URL check answers."""
    body = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"}).encode()
    headers = {"Content-Type": JSON, **sign_request(SIGNING_SECRET, body)}
    response = httpx.post(f"{bot_server.url}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 200 and response.json() == {"challenge": "abc"}
