"""Loopback fake of an OpenAI-compatible chat server, for tests that drive the real
`langchain_openai.ChatOpenAI` (and so the real `openai` client) through ``base_url``.

It answers ``POST /v1/chat/completions`` as OpenAI, vLLM or Ollama do, with ``usage`` figures,
and records every request it received (the messages, the pictures as data URLs, every other
parameter), so tests assert on what the caption writer sent. Replies are scripted in order
(`Answer`, `Slow`, `Fail`, `Refuse`); with none left it answers `default`, a reply or a
function of the request (to answer from the findings it was sent).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    """A completion with this text and these usage figures."""

    text: str
    input_tokens: int = 210
    output_tokens: int = 92


@dataclass(frozen=True)
class Slow:
    """Waits ``seconds`` (past the client's deadline), then answers ``then``."""

    seconds: float
    then: Answer = Answer("Too late.")


@dataclass(frozen=True)
class Fail:
    """An OpenAI-style error answer, e.g. 500, or 400 for "this model does not take images"."""

    status: int = 500
    message: str = "The server had an error while processing your request."


@dataclass(frozen=True)
class Refuse:
    """A completion whose message refuses (OpenAI's ``refusal`` field, no content)."""

    refusal: str = "I'm sorry, I can't help with identifying people."
    input_tokens: int = 180
    output_tokens: int = 12


Reply = Answer | Slow | Fail | Refuse


@dataclass(frozen=True)
class Received:
    """One chat request as the server saw it."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body["messages"])

    @property
    def parameters(self) -> dict[str, Any]:
        """Everything but the messages: model, max tokens, reasoning_effort, chat_template_kwargs..."""
        return {k: v for k, v in self.body.items() if k != "messages"}

    def text_of(self, role: str) -> str:
        """The text parts of every message of ``role``, joined."""
        texts = []
        for message in self.messages:
            if message["role"] != role:
                continue
            content = message["content"]
            if isinstance(content, str):
                texts.append(content)
            else:
                texts += [part["text"] for part in content if part.get("type") == "text"]
        return "\n".join(texts)

    @property
    def images(self) -> list[str]:
        """The data URLs of every picture sent, in order."""
        return [
            part["image_url"]["url"]
            for message in self.messages
            if isinstance(message["content"], list)
            for part in message["content"]
            if part.get("type") == "image_url"
        ]


@dataclass
class _State:
    script: deque[Reply] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeOpenAI:
    """The fake server on a free loopback port; ``base_url`` ends in ``/v1`` as clients expect."""

    def __init__(self, default: Reply | Callable[[Received], Reply] = Answer("Nothing to add.")) -> None:
        self.default = default
        self._state = _State()
        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self.base_url = f"http://{LOOPBACK}:{self._httpd.server_address[1]}/v1"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._state.lock:
            self._state.script.extend(replies)

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, request: Received) -> Reply:
        with self._state.lock:
            self._state.received.append(request)
            if self._state.script:
                return self._state.script.popleft()
        return self.default(request) if callable(self.default) else self.default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output readable."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        request = json.loads(body)
        reply = fake._next(Received(request, {k.lower(): v for k, v in self.headers.items()}))
        if isinstance(reply, Slow):
            time.sleep(reply.seconds)
            reply = reply.then
        if isinstance(reply, Fail):
            self._json(reply.status, {"error": {"message": reply.message, "type": "server_error", "code": None}})
            return
        self._json(200, _completion(request["model"], reply))

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a Slow reply past its deadline)


def _completion(model: str, reply: Answer | Refuse) -> dict[str, Any]:
    if isinstance(reply, Refuse):
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": reply.refusal}
    else:
        message = {"role": "assistant", "content": reply.text}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


HONEST_USAGE = (1234, 56)
"""The usage figures `honest` reports: input and output tokens."""


def findings_sent(request: Received) -> dict[str, Any]:
    """The findings JSON of the request's user message, as the caption writer sent it."""
    match = re.search(r"Findings \(JSON\):\n(\{.*?\})(?:\n|$)", request.text_of("user"))
    assert match, request.text_of("user")
    return dict(json.loads(match.group(1)))


def honest(request: Received) -> Reply:
    """A caption written from the findings the fake was sent, as a well-behaved model writes one:
    a word on the scene, each found person with their first appearance, who was not found."""
    said = ["The footage shows a grey backdrop."]
    for person in findings_sent(request)["persons"]:
        if not person["found"]:
            said.append(f"{person['name']} was not found.")
        elif appearances := person.get("appearances"):
            said.append(f"{person['name']} is on screen from {appearances[0]['from']} to {appearances[0]['to']}.")
        else:
            said.append(f"{person['name']} is in the image.")
    return Answer(" ".join(said), *HONEST_USAGE)
