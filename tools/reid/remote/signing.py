"""HMAC signatures on our callbacks (an extension: the hosted service signs nothing).

The service signs ``"{timestamp}.{body}"`` with the shared secret ``REID_CALLBACK_SECRET``;
the receiver recomputes it and checks the timestamp is recent, so a captured callback
cannot be replayed later nor a forged one accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-ReID-Timestamp"
SIGNATURE_HEADER = "X-ReID-Signature"
_SCHEME = "sha256="


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_callback(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body``.

    Args:
        secret: the shared secret.
        body: the exact bytes that will be POSTed.
        timestamp: unix seconds; now by default.

    Returns:
        ``{"X-ReID-Timestamp": "<seconds>", "X-ReID-Signature": "sha256=<hex>"}``.
    """
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: _SCHEME + _digest(secret, body, stamp)}


def verify_callback(secret: str, body: bytes, headers: Mapping[str, str], tolerance_s: float = 300) -> bool:
    """Whether ``headers`` carry a valid signature of ``body`` made within ``tolerance_s`` seconds.

    Args:
        secret: the shared secret.
        body: the raw request body, before any JSON parsing.
        headers: the request's headers; names are matched case-insensitively.
        tolerance_s: how far the timestamp may be from now, either way.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or not signature.startswith(_SCHEME):
        return False
    if abs(time.time() - int(stamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature[len(_SCHEME) :], _digest(secret, body, int(stamp)))
