"""The API key check: ``Authorization: <key>`` as the hosted service takes it, or ``Bearer <key>``.

It runs twice over: `ApiKeyMiddleware` answers a missing or wrong key (``0401``) from the
headers alone, before a byte of the body is read, so an anonymous client cannot make the
service read and parse a 64 MiB upload; `authenticated_tenant` documents the header in
OpenAPI, guards the routes should the middleware ever be left out, and gives a route the
name of the tenant asking: declare a parameter ``tenant: Tenant``.

With no key configured (``REID_API_KEYS`` empty) every request is accepted as the tenant
``local``; `serve` then refuses to listen anywhere but on loopback. The header is declared as
an API-key security scheme so that the docs offer an Authorize button; the check itself is
ours, in `tools.reid.service.tenants`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tools.reid.remote.errors import Unauthorized
from tools.reid.service.errors import envelope_error
from tools.reid.service.tenants import ApiKeys

PROTECTED_PREFIX = "/v1/"
"""The API's routes; /healthz and the docs stay open."""
UNAUTHORIZED = Unauthorized(
    "The API key is missing or not accepted: send it in the Authorization header (the bare key, or 'Bearer <key>')."
)

API_KEY_HEADER = APIKeyHeader(
    name="Authorization",
    scheme_name="APIKey",
    description="Your API key as the hosted service takes it, bare (`Authorization: <key>`), or `Bearer <key>`.",
    auto_error=False,
)
"""Documents the header; ``auto_error=False`` leaves refusing to `authenticated_tenant`, in the envelope."""


def authenticated_tenant(
    request: Request,
    authorization: Annotated[str | None, Security(API_KEY_HEADER)],
) -> str:
    """The name of the tenant whose key the request carries; ``0401`` without one."""
    keys: ApiKeys = request.app.state.api_keys
    tenant = keys.tenant(authorization)
    if tenant is None:
        raise UNAUTHORIZED
    return tenant


Tenant = Annotated[str, Depends(authenticated_tenant)]
"""A route parameter ``tenant: Tenant`` is the authenticated tenant's name (FastAPI runs the
check once per request, however many parameters and routers ask for it)."""


class ApiKeyMiddleware:
    """Answers ``0401`` to a request of the API without a valid key, without reading its body."""

    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith(PROTECTED_PREFIX)
            and self.keys.tenant(Headers(scope=scope).get("authorization")) is None
        ):
            await envelope_error(UNAUTHORIZED.code, UNAUTHORIZED.msg, close=True)(scope, receive, send)
            return
        await self.app(scope, receive, send)
