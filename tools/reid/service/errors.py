"""Errors as the hosted service answers them: HTTP 200 and an envelope code, data null.

``0001`` for anything wrong with the request (naming the field), ``0401`` for a bad key,
``0429`` for a full queue; unknown routes stay plain HTTP 404. FastAPI's own 422 answers
are replaced, so clients written for the hosted service see the codes they know.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tools.reid.errors import InvalidInput
from tools.reid.remote.errors import ApiError, BadRequest, RateLimited
from tools.reid.remote.wire import Envelope
from tools.reid.wording import validation_problems

log = logging.getLogger(__name__)

OUT_OF_DISK_CODE = "0503"
"""The envelope's server-error form: HTTP 503 (clients retry it) with an envelope saying why."""
OUT_OF_DISK = (
    "The service is out of disk: it cannot store this request now. Send it again later; "
    "the service's operator must free space where its database (REID_DB_PATH) lives."
)
OUT_OF_DISK_RETRY_S = 30
RETRY_AFTER_S = 2
"""What a 0429 answer suggests waiting, in seconds (``Retry-After``)."""


class BodyTooLarge(HTTPException):
    """The request body is over ``REID_MAX_BODY_BYTES``. An HTTPException, so FastAPI's body
    parsing passes it through untouched when it is raised while the body streams in."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, body_too_large_message(limit))


class BodyTooSlow(HTTPException):
    """The request body did not arrive whole within ``REID_BODY_TIMEOUT_S``."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            408,
            f"body: the request body did not arrive within {timeout_s:g} s. Send it again over a faster "
            "connection, or send large media by URL.",
        )


def body_too_large_message(limit: int) -> str:
    return (
        f"body: the request is larger than this service accepts ({size_text(limit)}). "
        "Send large media by URL instead of uploading it."
    )


def size_text(size: int) -> str:
    """``256 KiB``, ``64 MiB``, ``1.5 MiB``: a byte count as the README states limits."""
    if size < 2**20:
        return f"{size / 2**10:g} KiB"
    return f"{size / 2**20:.1f} MiB".replace(".0 MiB", " MiB")


def envelope_error(code: str, msg: str, *, close: bool = False) -> JSONResponse:
    """The error envelope; with ``close`` the connection is closed after it, for answers given
    before the request's body was read (which would otherwise have to be drained first)."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if code == RateLimited.code else {}
    if close:
        headers["Connection"] = "close"
    return JSONResponse(Envelope.error(code, msg).model_dump(), status_code=200, headers=headers or None)


def describe_validation_errors(errors: Sequence[Any], prefix: str = "") -> str:
    """The 0001 message of a request pydantic refused: ``Invalid request: persons[0].url is required.``"""
    return f"Invalid request: {validation_problems(errors, prefix)}."


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return envelope_error(exc.code, exc.msg)


async def _invalid_input(_request: Request, exc: InvalidInput) -> JSONResponse:
    return envelope_error(BadRequest.code, str(exc))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if [error["loc"] for error in errors] == [("body",)] and errors[0]["type"] == "missing":
        return envelope_error(BadRequest.code, _empty_body_message(request))
    return envelope_error(BadRequest.code, describe_validation_errors(errors))


def _empty_body_message(request: Request) -> str:
    """An empty body misses every field; name the required ones of the endpoint's model."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    fields = getattr(model, "model_fields", {})
    required = ", ".join(name for name, info in fields.items() if info.is_required())
    return f"Invalid request: the body is empty; {required or 'the JSON fields'} are required."


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Unreadable or oversized bodies are bad parameters (0001); everything else (404, 405)
    stays a plain HTTP error, as the hosted service answers unknown routes."""
    if exc.status_code in (400, 408, 413):
        return envelope_error(BadRequest.code, str(exc.detail), close=exc.status_code != 400)
    return await http_exception_handler(request, exc)


def out_of_disk(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full: a write of ours, or SQLite's."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode == sqlite3.SQLITE_FULL


def out_of_disk_answer() -> JSONResponse:
    return JSONResponse(
        Envelope.error(OUT_OF_DISK_CODE, OUT_OF_DISK).model_dump(),
        status_code=503,
        headers={"Retry-After": str(OUT_OF_DISK_RETRY_S)},
    )


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    """A full disk is said in one line and one answer, and the service goes on; any other
    error goes on to the 500 (and its traceback in the log) that it is."""
    if not out_of_disk(exc):
        raise exc
    log.error("out of disk answering %s %s: %s", request.method, request.url.path, exc)
    return out_of_disk_answer()


def install_error_handlers(app: FastAPI) -> None:
    # BadRequest is both an ApiError and an InvalidInput; handlers are looked up along the MRO,
    # which meets ApiError first, so it keeps its own code.
    # FastAPI's decorator takes each handler with the exception type it handles.
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(InvalidInput)(_invalid_input)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(OSError)(_server_error)
    app.exception_handler(sqlite3.OperationalError)(_server_error)
