"""A cap on request bodies, in size and in time, enforced before they are read in full.

A declared ``Content-Length`` over the cap is refused before the app reads anything (0001);
a body sent without one (chunked) is counted as it streams in and refused the moment it
passes the cap, so an upload can never fill memory or the spool folder. Before the refusal
is sent, the rest of the body is read and dropped (up to ``DRAIN_FACTOR`` times the cap, at least 16 MiB,
within the body deadline): a client still sending when the server closes the connection
gets a reset, not the answer that says what was wrong. A body must also arrive
whole within ``timeout_s`` of its first read: a client trickling bytes is answered 0001 and
its connection closed, instead of holding a worker's memory and a socket indefinitely.

The cap is chosen per request (``cap(scope)``: by route and content type), and so is the form
of the refusal given before the app runs (``refuse``): the service's envelope by default, a
plain HTTP status for the Slack bot, which uses this same front door.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.reid.remote.errors import BadRequest
from tools.reid.service.errors import BodyTooLarge, BodyTooSlow, body_too_large_message, envelope_error

DRAIN_FACTOR = 4
DRAIN_FLOOR_BYTES = 16 * 2**20
"""Refused bodies up to ``DRAIN_FACTOR`` times the cap, and at least this much (a JSON cap is
kilobytes), are drained so the answer arrives; larger ones are answered at once and the
connection closed (their client may see a reset). Drained bytes are dropped, never kept."""


def envelope_refusal(message: str) -> ASGIApp:
    """The service's refusal of an oversized body: a 0001 envelope, and the connection closed."""
    return envelope_error(BadRequest.code, message, close=True)


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        cap: Callable[[Scope], int],
        timeout_s: float,
        refuse: Callable[[str], ASGIApp] = envelope_refusal,
    ) -> None:
        self.app = app
        self.cap = cap
        self.timeout_s = timeout_s
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(receive, self.cap(scope), self.timeout_s)
        declared = _declared_length(scope)
        if declared > body.cap:
            if declared <= body.drain_budget:
                await body.drain()
            await self.refuse(body_too_large_message(body.cap))(scope, receive, send)
            return
        await self.app(scope, body.receive, send)


class _Body:
    """One request's body as the app reads it: counted against the cap, within the deadline
    (from its first read)."""

    def __init__(self, receive: Receive, cap: int, timeout_s: float) -> None:
        self._receive = receive
        self.cap = cap
        self._timeout_s = timeout_s
        self._received = 0
        self._deadline: float | None = None
        self._finished = False
        self.drain_budget = max(DRAIN_FACTOR * cap, DRAIN_FLOOR_BYTES)

    def _remaining_s(self) -> float:
        if self._deadline is None:
            self._deadline = time.monotonic() + self._timeout_s
        return max(0.0, self._deadline - time.monotonic())

    async def receive(self) -> Message:
        try:
            async with asyncio.timeout(self._remaining_s()):
                message = await self._receive()
        except TimeoutError:
            raise BodyTooSlow(self._timeout_s) from None
        self._count(message)
        if self._received > self.cap:
            await self.drain()
            raise BodyTooLarge(self.cap)
        return message

    def _count(self, message: Message) -> None:
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            self._finished = not message.get("more_body", False)
        else:
            self._finished = True  # the client left

    async def drain(self) -> None:
        """Reads and drops the rest of the body, within the deadline and the drain budget."""
        try:
            async with asyncio.timeout(self._remaining_s()):
                while not self._finished and self._received <= self.drain_budget:
                    self._count(await self._receive())
        except TimeoutError:
            return


def header(scope: Scope, name: bytes) -> str:
    """A request header's value ('' when absent)."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
