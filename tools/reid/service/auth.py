"""The API key check: ``Authorization: <key>`` as the hosted service takes it, or ``Bearer <key>``.

With no key configured (``REID_API_KEYS`` empty) every request is accepted; `serve` then
refuses to listen anywhere but on loopback.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header, Request

from tools.reid.api_errors import Unauthorized


def require_api_key(
    request: Request,
    authorization: Annotated[str | None, Header(description="Your API key (bare, or 'Bearer <key>').")] = None,
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
