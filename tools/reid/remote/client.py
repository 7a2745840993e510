"""Clients of the memories.ai-compatible ReID API: `ReIDClient` (blocking) and `AsyncReIDClient`.

They work unchanged against our service and the hosted one (the task endpoint, `get_task`
and `wait`, is our extension). Both share one implementation: each operation is written
once, as a generator that yields what it needs done (send this request, sleep this long)
and receives the answers; the two classes only carry those steps out, with httpx's blocking
or async client. Retries (0429, HTTP 5xx, connection failures) back off exponentially and
honour ``Retry-After``; every request has an explicit timeout.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tools.reid.errors import InvalidInput
from tools.reid.fetch.policy import is_url, redact_url
from tools.reid.progress import ProgressFn, no_progress
from tools.reid.remote.errors import ApiError, RateLimited, ServiceUnavailable, TaskTimeout, error_for
from tools.reid.remote.wire import SUCCESS, TaskStatus
from tools.reid.settings import ReIDSettings, get_settings

__all__ = ["AsyncReIDClient", "ClientConfig", "ReIDClient"]

T = TypeVar("T")

VIDEO_SYSTEM_PROMPT = "You are a video understanding system that can detect and identify people."
IMAGE_SYSTEM_PROMPT = "You are an image analysis system with human re-identification capabilities."
UPLOAD = "/v1/understand/upload"
UPLOAD_IMAGE = "/v1/understand/uploadImg"
TASKS = "/v1/understand/tasks/"

Person = tuple[str, str]
"""(name, reference photo): a local path or an http(s) URL."""


@dataclass(frozen=True)
class ClientConfig:
    """Where the API is, the key, and how patient to be with it."""

    base_url: str
    api_key: str | None = None
    timeout_s: float = 60.0
    """Per request: connecting, sending, and waiting for the answer."""
    retries: int = 4
    backoff_s: float = 0.5
    """First retry delay; it doubles each time, up to ``max_backoff_s``."""
    max_backoff_s: float = 30.0
    poll_interval_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: ReIDSettings) -> ClientConfig:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(
            base_url=settings.api_url, api_key=key, timeout_s=settings.api_timeout_s, retries=settings.api_retries
        )

    def backoff(self, attempt: int, retry_after_s: float | None) -> float:
        wanted = retry_after_s if retry_after_s is not None else self.backoff_s * 2**attempt
        return min(self.max_backoff_s, wanted)


@dataclass(frozen=True)
class _Sleep:
    seconds: float


Step = httpx.Request | _Sleep
Flow = Generator[Step, httpx.Response | None, T]
"""An operation: yields requests to send (receiving their responses; transport errors are
thrown in) and sleeps to take (receiving None); returns the operation's value."""


class _Operations:
    """Every API operation, written once as a `Flow`; subclasses only run the steps."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        settings: ReIDSettings | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        config = config or ClientConfig.from_settings(settings or get_settings())
        self.config = replace(config, base_url=base_url or config.base_url, api_key=api_key or config.api_key)

    def _submit_video(
        self,
        video_url: str,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str,
        callback: str | None,
        options: dict[str, Any] | None,
        ask: dict[str, Any],
    ) -> Flow[str]:
        body = (
            _options(user_prompt, system_prompt, callback, options)
            | ask
            | {
                "video_url": video_url,
                "persons": [{"name": name, "url": url} for name, url in persons],
            }
        )
        data = yield from self._call("POST", UPLOAD, json=body)
        return str(data["task_id"])

    def _analyze_image(
        self,
        image: str | Path,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str,
        callback: str | None,
        options: dict[str, Any] | None,
        ask: dict[str, Any],
    ) -> Flow[dict[str, Any]]:
        fields = _options(user_prompt, system_prompt, callback, options) | ask
        local = [(name, photo) for name, photo in persons if not is_url(str(photo))]
        remote = [{"name": name, "url": photo} for name, photo in persons if is_url(str(photo))]
        if is_url(str(image)) and not local:
            body = fields | {"url": str(image), "persons": remote}
            return (yield from self._call("POST", UPLOAD_IMAGE, json=body))
        if is_url(str(image)):
            names = ", ".join(name for name, _ in local)
            raise InvalidInput(
                f"The image {redact_url(str(image))} is a URL but the reference photos of {names} are local "
                "files; the API cannot mix them. Give the image as a local file too, or the photos as URLs."
            )
        req = fields | {"persons": [{"name": name} for name, _ in local] + remote}
        files = [("req", ("req.json", json.dumps(req).encode(), "application/json"))]
        files += [("file", _file_part(Path(path))) for path in [image, *(photo for _, photo in local)]]
        return (yield from self._call("POST", UPLOAD_IMAGE, files=files))

    def _get_task(self, task_id: str) -> Flow[TaskStatus]:
        data = yield from self._call("GET", TASKS + task_id)
        return TaskStatus.model_validate(data)

    def _wait(self, task_id: str, timeout_s: float, on_progress: ProgressFn) -> Flow[TaskStatus]:
        deadline = time.monotonic() + timeout_s
        while True:
            status = yield from self._get_task(task_id)
            on_progress(status.progress)
            if status.state in ("done", "failed"):
                return status
            if time.monotonic() + self.config.poll_interval_s > deadline:
                raise TaskTimeout(
                    f"Task {task_id} is still {status.state} after {timeout_s:g} s; it goes on. "
                    "Wait again, or pass a callback to be told when it ends."
                )
            yield _Sleep(self.config.poll_interval_s)

    def _call(self, method: str, path: str, **content: Any) -> Flow[Any]:
        """One API call with retries; returns the envelope's ``data``."""
        for attempt in range(self.config.retries + 1):
            last = attempt == self.config.retries
            try:
                response = yield self._request(method, path, content)
                assert response is not None, "a request step is sent back its response"
            except httpx.TransportError as exc:
                if last or not _unsent_or_idempotent(method, exc):
                    reason = str(exc) or type(exc).__name__
                    raise ServiceUnavailable(f"{method} {self._url(path)} failed: {reason}.") from exc
                yield _Sleep(self.config.backoff(attempt, None))
                continue
            try:
                return _envelope_data(response)
            except ApiError as exc:
                if last or not _worth_retrying(exc, response):
                    raise
                yield _Sleep(self.config.backoff(attempt, getattr(exc, "retry_after_s", None)))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _request(self, method: str, path: str, content: dict[str, Any]) -> httpx.Request:
        headers = {"User-Agent": "reid-footage-client"}
        if self.config.api_key:
            headers["Authorization"] = self.config.api_key
        timeout = httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s))
        return httpx.Request(
            method, self._url(path), headers=headers, extensions={"timeout": timeout.as_dict()}, **content
        )

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path


def _options(user_prompt: str, system_prompt: str, callback: str | None, options: dict[str, Any] | None) -> dict:
    body: dict[str, Any] = {"user_prompt": user_prompt, "system_prompt": system_prompt}
    if callback:
        body["callback"] = callback
    if options:
        body["options"] = options
    return body


def _ask(thinking: bool, reasoning_effort: str | None) -> dict[str, Any]:
    """How hard the caption model may think, sent only when asked for (the API's defaults otherwise)."""
    return ({"thinking": True} if thinking else {}) | (
        {"reasoning_effort": reasoning_effort} if reasoning_effort else {}
    )


def _file_part(path: Path) -> tuple[str, bytes, str]:
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file that exists here. Give the path of an image, or an http(s) URL.")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return (path.name, path.read_bytes(), mime)


def _unsent_or_idempotent(method: str, exc: httpx.TransportError) -> bool:
    """Whether retrying cannot submit a task twice: the request never left, or it only reads."""
    return method == "GET" or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _worth_retrying(error: ApiError, response: httpx.Response) -> bool:
    """Rate limits and server-side failures pass; the other errors would only repeat."""
    return isinstance(error, RateLimited) or response.status_code >= 500


def _envelope_data(response: httpx.Response) -> Any:
    """The ``data`` of a success envelope; raises the `ApiError` the answer stands for."""
    where = f"{response.request.method} {response.request.url}"
    if response.status_code != 200:
        detail = response.text[:200].strip()
        raise ServiceUnavailable(f"{where} answered HTTP {response.status_code}{': ' + detail if detail else ''}.")
    try:
        envelope = response.json()
        code = str(envelope["code"])
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable(f"{where} answered something that is not an API envelope.") from None
    if code == SUCCESS:
        return envelope.get("data")
    error = error_for(code, str(envelope.get("msg") or ""))
    if isinstance(error, RateLimited):
        error.retry_after_s = _retry_after(response)
    raise error


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


class ReIDClient(_Operations):
    """Blocking client. Base URL and key come from the arguments, else ``REID_API_URL`` and
    ``REID_API_KEY``. Every method raises an `ApiError` subclass for an error answer.

    Args:
        base_url: e.g. ``http://127.0.0.1:8080`` or ``https://security.memories.ai``.
        api_key: sent as ``Authorization: <key>``.
        settings: where defaults come from (the process-wide settings otherwise).
        config: timeouts, retries and polling, overriding the settings.
        http: an httpx client to send through (closed by its owner, not by us).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        settings: ReIDSettings | None = None,
        config: ClientConfig | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, api_key, settings=settings, config=config)
        self._owns_http = http is None
        self._http = http or httpx.Client(trust_env=False)

    def __enter__(self) -> ReIDClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def submit_video(
        self,
        video_url: str,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str = VIDEO_SYSTEM_PROMPT,
        callback: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        thinking: bool = False,
        reasoning_effort: str | None = None,
    ) -> str:
        """Submit a video by URL; returns the task id. The result goes to ``callback``, or
        comes from `wait` (our service only)."""
        return self._run(
            self._submit_video(
                video_url, persons, user_prompt, system_prompt, callback, options, _ask(thinking, reasoning_effort)
            )
        )

    def analyze_image(
        self,
        image: str | Path,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str = IMAGE_SYSTEM_PROMPT,
        callback: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        thinking: bool = False,
        reasoning_effort: str | None = None,
    ) -> dict[str, Any]:
        """Analyse an image (path or URL); local files go up as multipart (read into memory
        first: images and photos are small), URLs as JSON.

        Returns the result ``data`` (``text``, ``token``, and on our service the structured
        fields), or ``{"task_id": ...}`` when a ``callback`` will receive it.
        """
        return self._run(
            self._analyze_image(
                image, persons, user_prompt, system_prompt, callback, options, _ask(thinking, reasoning_effort)
            )
        )

    def get_task(self, task_id: str) -> TaskStatus:
        """A task's state, progress and, once ended, result or error (our service only)."""
        return self._run(self._get_task(task_id))

    def wait(self, task_id: str, timeout_s: float, on_progress: ProgressFn = no_progress) -> TaskStatus:
        """Poll until the task is done or failed; raises `TaskTimeout` after ``timeout_s``."""
        return self._run(self._wait(task_id, timeout_s, on_progress))

    def _run(self, flow: Flow[T]) -> T:
        """Carry out the flow's steps with blocking calls."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value


class AsyncReIDClient(_Operations):
    """The async twin of `ReIDClient`: the same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        settings: ReIDSettings | None = None,
        config: ClientConfig | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, api_key, settings=settings, config=config)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(trust_env=False)

    async def __aenter__(self) -> AsyncReIDClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def submit_video(
        self,
        video_url: str,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str = VIDEO_SYSTEM_PROMPT,
        callback: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        thinking: bool = False,
        reasoning_effort: str | None = None,
    ) -> str:
        return await self._run(
            self._submit_video(
                video_url, persons, user_prompt, system_prompt, callback, options, _ask(thinking, reasoning_effort)
            )
        )

    async def analyze_image(
        self,
        image: str | Path,
        persons: Sequence[Person],
        user_prompt: str,
        system_prompt: str = IMAGE_SYSTEM_PROMPT,
        callback: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        thinking: bool = False,
        reasoning_effort: str | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            self._analyze_image(
                image, persons, user_prompt, system_prompt, callback, options, _ask(thinking, reasoning_effort)
            )
        )

    async def get_task(self, task_id: str) -> TaskStatus:
        return await self._run(self._get_task(task_id))

    async def wait(self, task_id: str, timeout_s: float, on_progress: ProgressFn = no_progress) -> TaskStatus:
        return await self._run(self._wait(task_id, timeout_s, on_progress))

    async def _run(self, flow: Flow[T]) -> T:
        """Carry out the flow's steps with awaited calls."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value
