"""Errors of the memories.ai-compatible HTTP API, one class per envelope code.

The hosted service and ours answer every request with HTTP 200 and an envelope whose
``code`` says what went wrong; infrastructure failures are plain HTTP errors. The client
raises these; our service raises the same classes and turns them into envelopes, so the
mapping between codes and meanings lives here alone.

Each class also derives from the matching `tools.reid.errors` class where there is one,
so a surface that catches `ReIDError` (or `InvalidInput`) handles remote failures too::

    ReIDError
    ├── ApiError                    .code, .msg
    │   ├── BadRequest              0001, 0003 (also an InvalidInput)
    │   ├── Unauthorized            0401
    │   ├── NoCredits               0402
    │   ├── Forbidden               0403, 9009
    │   ├── Conflict                0409
    │   ├── RateLimited             0429, .retry_after_s
    │   └── ServiceUnavailable      plain HTTP 404/5xx, unreachable host, unreadable answer
    └── TaskTimeout                 the client stopped waiting for a task (also a TimeoutError)
"""

from __future__ import annotations

from tools.reid.errors import InvalidInput, ReIDError


class ApiError(ReIDError):
    """An error answer of the API; ``code`` is the envelope code, ``msg`` its message."""

    code = "9999"
    hint = ""
    """What the caller can do about it, appended to the service's message."""

    def __init__(self, msg: str, code: str | None = None) -> None:
        self.msg = msg
        if code is not None:
            self.code = code
        super().__init__(f"{msg} {self.hint}".strip())


class BadRequest(ApiError, InvalidInput):
    """Raised for 0001/0003: a parameter is missing or invalid; the message names it."""

    code = "0001"


class Unauthorized(ApiError):
    """Raised for 0401: the API key is missing or not accepted."""

    code = "0401"
    hint = "Check the API key (REID_API_KEY for our client, REID_API_KEYS on our service)."


class NoCredits(ApiError):
    """Raised for 0402: the account behind the key has no credits left."""

    code = "0402"
    hint = "Top up the account or use another key."


class Forbidden(ApiError):
    """Raised for 0403 (account deactivated) and 9009 (the key lacks this permission)."""

    code = "0403"
    hint = "Use a key of an active account that is allowed this operation."


class Conflict(ApiError):
    """Raised for 0409: an operation that cannot be repeated was repeated."""

    code = "0409"


class RateLimited(ApiError):
    """Raised for 0429 once the client's retries are spent: too many requests, or the
    service's task queue is full."""

    code = "0429"
    hint = "Wait a little and send it again, or lower the request rate."

    def __init__(self, msg: str, code: str | None = None, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(msg, code)


class ServiceUnavailable(ApiError):
    """Raised when the service cannot be reached or answers outside the envelope
    (HTTP 404 or 5xx, a timeout, a body that is not an envelope)."""

    code = "HTTP"
    hint = "Check REID_API_URL and that the service is up, then try again."


_BY_CODE: dict[str, type[ApiError]] = {
    "0001": BadRequest,
    "0003": BadRequest,
    "0401": Unauthorized,
    "0402": NoCredits,
    "0403": Forbidden,
    "9009": Forbidden,
    "0409": Conflict,
    "0429": RateLimited,
}


def error_for(code: str, msg: str) -> ApiError:
    """The exception for an envelope's error code; unknown codes stay plain `ApiError`s."""
    return _BY_CODE.get(code, ApiError)(msg or f"The service answered with code {code}.", code)


class TaskTimeout(ReIDError, TimeoutError):
    """Raised by the client's ``wait`` when a task has not ended within the timeout; the task
    goes on, and waiting again (or a callback) still gets its result."""
