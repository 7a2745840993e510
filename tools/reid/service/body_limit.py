"""A cap on request bodies, in size and in time, enforced before they are read in full.

A declared ``Content-Length`` over the cap is refused before the app reads anything (0001);
a body sent without one (chunked) is counted as it streams in and refused the moment it
passes the cap, so an upload can never fill memory or the spool folder. Before the refusal
is sent, the rest of the body is read and dropped (up to ``DRAIN_FACTOR`` times the cap,
within the body deadline): a client still sending when the server closes the connection
gets a reset, not the answer that says what was wrong. A body must also arrive
whole within ``timeout_s`` of its first read: a client trickling bytes is answered 0001 and
its connection closed, instead of holding a worker's memory and a socket indefinitely.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.reid.remote.errors import BadRequest
from tools.reid.service.errors import BodyTooLarge, BodyTooSlow, body_too_large_message, envelope_error

DRAIN_FACTOR = 4
"""Refused bodies up to this many times the cap are drained so the answer arrives; larger
ones are answered at once and the connection closed (their client may see a reset)."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared > self.max_bytes:
            if declared <= DRAIN_FACTOR * self.max_bytes:
                await self._drain(receive, time.monotonic() + self.timeout_s, 0)
            response = envelope_error(BadRequest.code, body_too_large_message(self.max_bytes), close=True)
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0
        deadline: float | None = None

        async def counted() -> Message:
            nonlocal received, deadline
            if deadline is None:
                deadline = time.monotonic() + self.timeout_s
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await self._drain(receive, deadline, received)
                    raise BodyTooLarge(self.max_bytes)
            return message

        return counted

    async def _drain(self, receive: Receive, deadline: float, received: int) -> None:
        """Reads and drops the rest of a refused body, within ``deadline`` and the drain budget."""
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                while received <= DRAIN_FACTOR * self.max_bytes:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    received += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return
        except TimeoutError:
            return


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
