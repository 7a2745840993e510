"""The bot's HTTP front door: what a request must be before Bolt, or anything of ours, reads it.

The bot's routes are public (Slack must reach them), and anyone can send them anything:
* **Size**: a body is refused (413) by its ``Content-Length``, or while it streams in, past its
  route's cap. Slack's own payloads are kilobytes, the service's results tens of kilobytes: the
  caps leave ample room, and a 256 MiB unsigned body costs nothing. The check precedes the
  signature check, which needs the whole body.
* **Time**: a request head must arrive within ``REID_HEADER_TIMEOUT_S`` of the connection's
  start, a body within ``REID_BODY_TIMEOUT_S`` of its first byte, idle keep-alive connections
  are closed after ``REID_KEEP_ALIVE_S``: the service's deadlines, and its code
  (`tools.reid.service.slow_clients`, `tools.reid.service.body_limit`). A half-open connection
  that never speaks is closed too.
* **Shape**: a payload Bolt cannot read (JSON that is not an object, a ``payload`` field that
  is not JSON), or that lacks what a listener needs (a command without ``channel_id``, an event
  that is not an object), is answered 400 with one log line, never 500 with a traceback. Any
  other error stays a 500 with its traceback: it is ours to fix.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from slack_bolt.response import BoltResponse
from starlette.types import ASGIApp, Scope

from tools.reid.service.body_limit import BodyLimitMiddleware
from tools.reid.service.errors import BodyTooLarge, BodyTooSlow
from tools.reid.service.slow_clients import HeadDeadlineProtocol
from tools.reid.settings import ReIDSettings

log = logging.getLogger(__name__)

KiB = 1024
EVENTS_MAX_BYTES = 1024 * KiB
"""``/slack/events``: Slack's events, commands and interactions are a few kilobytes (a view
submission with every input filled, tens)."""
CALLBACK_MAX_BYTES = 4096 * KiB
"""``/reid/callback/...``: a result with many appearances is tens of kilobytes."""
MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError)
"""What reading a payload that lacks a field, or has one of the wrong type, raises (pydantic's
ValidationError and json's JSONDecodeError are ValueErrors)."""


def body_cap(scope: Scope) -> int:
    """The body limit of one request, by route."""
    return CALLBACK_MAX_BYTES if scope["path"].startswith("/reid/callback/") else EVENTS_MAX_BYTES


def install(api: FastAPI, settings: ReIDSettings) -> None:
    """Put the size and body-time limits in front of every route of ``api``."""
    api.add_middleware(BodyLimitMiddleware, cap=body_cap, timeout_s=settings.body_timeout_s, refuse=_too_large)
    api.add_exception_handler(BodyTooLarge, _refused)
    api.add_exception_handler(BodyTooSlow, _refused)


def _too_large(message: str) -> ASGIApp:
    return _closing(413, message)


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    """A body refused while it streamed in (too large, too slow): said, and the connection closed."""
    assert isinstance(exc, BodyTooLarge | BodyTooSlow)
    return _closing(exc.status_code, str(exc.detail))


def _closing(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Connection": "close"})


def malformed_request(error: Exception) -> JSONResponse:
    """The answer to a body Bolt could not even read into a request (before any listener ran)."""
    log.warning("refused a Slack request whose body cannot be read: %s", _describe(error))
    return JSONResponse({"error": "The request body is not a Slack payload."}, status_code=400)


async def listener_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
    """Bolt's error handler: a payload that lacks what a listener or Bolt's own middleware reads
    is the sender's fault (400, one line); anything else is logged with its traceback (500)."""
    if isinstance(error, MALFORMED):
        kind = (body.get("type") or body.get("command")) if isinstance(body, dict) else None
        log.warning("refused a malformed Slack payload (type %s): %s", kind or "unknown", _describe(error))
        return BoltResponse(status=400, body="The payload lacks a field this app needs, or has one of the wrong type.")
    log.error("a Slack request failed", exc_info=error)
    return None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


def server_config(app: FastAPI, host: str, port: int, settings: ReIDSettings) -> uvicorn.Config:
    """uvicorn's settings for the bot: the service's head deadline and keep-alive, and no access
    log (the callback and staged-file paths carry per-request secrets)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        http=partial(HeadDeadlineProtocol, header_timeout_s=settings.header_timeout_s),  # type: ignore[arg-type]
        timeout_keep_alive=max(1, round(settings.keep_alive_s)),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )
