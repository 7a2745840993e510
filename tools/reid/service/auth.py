"""The API key check: ``Authorization: <key>`` as the hosted service takes it, or ``Bearer <key>``.

With no key configured (``REID_API_KEYS`` empty) every request is accepted; `serve` then
refuses to listen anywhere but on loopback. The header is declared as an API-key security
scheme so that the docs offer an Authorize button; the check itself is ours, below.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from tools.reid.api_errors import Unauthorized

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
    keys: set[str] = request.app.state.api_keys
    if not keys:
        return
    given = (authorization or "").strip().removeprefix("Bearer ").strip().encode()
    # Compare with every key, not stopping at a match, so timing tells nothing about which is close.
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]
    if not any(matches):
        raise Unauthorized(
            "The API key is missing or not accepted: send it in the Authorization header "
            "(the bare key, or 'Bearer <key>')."
        )
