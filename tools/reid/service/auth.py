"""The API key check: ``Authorization: <key>`` as the hosted service takes it, or ``Bearer <key>``.

It runs twice over: `ApiKeyMiddleware` answers a missing or wrong key (``0401``) from the
headers alone, before a byte of the body is read, so an anonymous client cannot make the
service read and parse a 64 MiB upload; `require_api_key` documents the header in OpenAPI
and guards the routes should the middleware ever be left out.

With no key configured (``REID_API_KEYS`` empty) every request is accepted; `serve` then
refuses to listen anywhere but on loopback. The header is declared as an API-key security
scheme so that the docs offer an Authorize button; the check itself is ours, below.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tools.reid.api_errors import Unauthorized
from tools.reid.service.errors import envelope_error

PROTECTED_PREFIX = "/v1/"
"""The API's routes; /healthz and the docs stay open."""
UNAUTHORIZED = Unauthorized(
    "The API key is missing or not accepted: send it in the Authorization header (the bare key, or 'Bearer <key>')."
)


def key_accepted(keys: set[str], authorization: str | None) -> bool:
    if not keys:
        return True
    given = (authorization or "").strip().removeprefix("Bearer ").strip().encode()
    # Compare with every key, not stopping at a match, so timing tells nothing about which is close.
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]
    return any(matches)


API_KEY_HEADER = APIKeyHeader(
    name="Authorization",
    scheme_name="APIKey",
    description="Your API key as the hosted service takes it, bare (`Authorization: <key>`), or `Bearer <key>`.",
    auto_error=False,
)
"""Documents the header; ``auto_error=False`` leaves refusing to `require_api_key`, in the envelope."""


def require_api_key(
    request: Request,
    authorization: Annotated[str | None, Security(API_KEY_HEADER)],
) -> None:
    if not key_accepted(request.app.state.api_keys, authorization):
        raise UNAUTHORIZED


class ApiKeyMiddleware:
    """Answers ``0401`` to a request of the API without a valid key, without reading its body."""

    def __init__(self, app: ASGIApp, keys: set[str]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith(PROTECTED_PREFIX)
            and not key_accepted(self.keys, Headers(scope=scope).get("authorization"))
        ):
            await envelope_error(UNAUTHORIZED.code, UNAUTHORIZED.msg, close=True)(scope, receive, send)
            return
        await self.app(scope, receive, send)
