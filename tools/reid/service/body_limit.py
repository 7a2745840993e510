"""A cap on request bodies, enforced before they are read in full.

A declared ``Content-Length`` over the cap is refused at once (0001, nothing read); a body
sent without one (chunked) is counted as it streams in and refused the moment it passes
the cap, so an upload can never fill memory or the spool folder.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.reid.api_errors import BadRequest
from tools.reid.service.errors import BodyTooLarge, body_too_large_message, envelope_error


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            response = envelope_error(BadRequest.code, body_too_large_message(self.max_bytes))
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return counted


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
