"""The download: a URL that passed the policy streamed into a file, within one deadline and the
size limit, its kind sniffed, redirects judged hop by hop.

There is one implementation, `afetch_to_file`; `fetch_to_file` runs it on a private event loop.
httpx has no overall timeout, and its blocking client can only bound each socket operation, so
a server that answers just before every read timeout could hold a worker for hours. An anyio
cancel scope is a true deadline over resolution, every hop and the whole body.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx

from tools.reid.errors import FetchError
from tools.reid.fetch.policy import REACH_HINT, Target, checked_target, fetch_error
from tools.reid.fetch.sniff import SNIFF_BYTES, Expect, kind_problem, sniff_kind
from tools.reid.wording import byte_size

MAX_REDIRECTS = 5

T = TypeVar("T")


def safe_file_name(name: str, default: str) -> str:
    """A user's file name made safe to write into our own folder (no path, no hidden file, no
    odd characters, at most 100 characters): kept so that error messages name ``clip.mp4``,
    the file the user knows, rather than a temporary or spool name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    return cleaned[:100] or default


# --- Downloading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """The caller's arguments, passed whole to the helpers instead of five at a time."""

    what: str
    max_bytes: int
    timeout_s: float
    allow_private: bool
    expect: Expect | None

    def error(self, url: str | httpx.URL, reason: str) -> FetchError:
        return fetch_error(self.what, url, reason)


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _check_response(response: httpx.Response, url: httpx.URL, job: _Job) -> None:
    """Refuse a final response by its status and declared size, before reading the body."""
    if not response.is_success:
        reason = f"the server answered {response.status_code} {response.reason_phrase}".rstrip()
        if response.status_code in (401, 403):
            reason += " (the link may need a sign-in; use a shareable or pre-signed link)"
        raise job.error(url, reason + ".")
    declared = _declared_length(response)
    if declared is not None and declared > job.max_bytes:
        raise job.error(url, f"it is {byte_size(declared)}, over the {byte_size(job.max_bytes)} limit.")


class _BodyGuard:
    """Checks a body while it streams: the size limit on every chunk, the kind once known."""

    def __init__(self, url: httpx.URL, job: _Job) -> None:
        self._url = url
        self._job = job
        self._size = 0
        self._head = b""
        self._sniffed = False

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._job.max_bytes:
            limit = byte_size(self._job.max_bytes)
            raise self._job.error(self._url, f"it is larger than the {limit} limit.")
        if not self._sniffed:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) == SNIFF_BYTES:
                self._check_kind()

    def finish(self) -> None:
        if self._size == 0:
            raise self._job.error(self._url, "the server sent an empty response.")
        if not self._sniffed:
            self._check_kind()

    def _check_kind(self) -> None:
        self._sniffed = True
        problem = kind_problem(sniff_kind(self._head), self._job.expect)
        if problem is not None:
            raise self._job.error(self._url, problem)


@contextmanager
def _network_errors(url: httpx.URL, job: _Job) -> Iterator[None]:
    """Turn httpx's transport failures (refused, reset, TLS, protocol) into a FetchError."""
    try:
        yield
    except httpx.TransportError as exc:
        detail = str(exc) or type(exc).__name__
        reason = f"the server could not be reached or the connection failed ({detail}). "
        raise job.error(url, reason + REACH_HINT) from exc


def _next_url(target: Target, response: httpx.Response, job: _Job) -> str:
    try:
        return str(target.url.join(response.headers["Location"]))
    except httpx.InvalidURL as exc:
        raise job.error(target.url, "it redirected to an invalid URL.") from exc


async def _open(client: httpx.AsyncClient, url: str, job: _Job) -> tuple[Target, httpx.Response]:
    """Follow redirects by hand, judging every hop; returns the final, unread response."""
    hop = url
    for _ in range(MAX_REDIRECTS + 1):
        check = partial(checked_target, hop, allow_private=job.allow_private, what=job.what)
        target = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        with _network_errors(target.url, job):
            response = await client.send(target.request(client), stream=True)
        if not response.has_redirect_location:
            return target, response
        await response.aclose()
        hop = _next_url(target, response, job)
    raise job.error(url, f"it redirected more than {MAX_REDIRECTS} times.")


async def _save(response: httpx.Response, url: httpx.URL, dest_dir: Path, job: _Job) -> Path:
    """Stream the body to a fresh file named by us, removing it if any check fails.

    Writes are plain blocking calls: a chunk lands in the page cache in microseconds, less
    than handing it to a worker thread would cost.
    """
    guard = _BodyGuard(url, job)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="fetched-", dir=dest_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, _network_errors(url, job):
            async for chunk in response.aiter_raw():
                guard.feed(chunk)
                out.write(chunk)
        guard.finish()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _download(url: str, dest_dir: Path, job: _Job) -> Path:
    # No proxies from the environment: a proxy would pick the address itself, undoing the
    # check. Identity encoding: the size limit then counts the bytes that reach the disk.
    # No httpx timeouts: the caller's cancel scope is the one deadline.
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(None),
        headers={"Accept-Encoding": "identity", "User-Agent": "reid-footage"},
    ) as client:
        target, response = await _open(client, url, job)
        try:
            _check_response(response, target.url, job)
            return await _save(response, target.url, dest_dir, job)
        finally:
            await response.aclose()


async def afetch_to_file(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    what: str = "file",
    expect: Expect | None = None,
) -> Path:
    """Download `url` into a new file in `dest_dir` and return its path.

    `what` names the thing in error messages ("video", "reference photo for Alice");
    `expect` refuses a body whose sniffed kind does not fit (see `sniff_kind`).

    Raises:
        FetchError: the URL is refused by `check_url` (on any redirect hop), redirects more
            than `MAX_REDIRECTS` times, cannot be reached, answers other than 2xx, exceeds
            `max_bytes`, takes longer than `timeout_s` in total, is empty, or is the wrong kind.
            No partial file is left behind.
    """
    job = _Job(what, max_bytes, timeout_s, allow_private, expect)
    try:
        with anyio.fail_after(timeout_s):
            return await _download(url, dest_dir, job)
    except TimeoutError:
        reason = (
            f"the download did not finish within {timeout_s:g} s. {REACH_HINT} "
            "For large files on slow links, raise REID_FETCH_TIMEOUT_S."
        )
        raise job.error(url, reason) from None


def fetch_to_file(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    what: str = "file",
    expect: Expect | None = None,
) -> Path:
    """Blocking form of `afetch_to_file`, same arguments, same errors.

    It runs the async implementation on a private event loop (the module docstring says why).
    """
    return _run_blocking(
        partial(
            afetch_to_file,
            url,
            dest_dir,
            max_bytes=max_bytes,
            timeout_s=timeout_s,
            allow_private=allow_private,
            what=what,
            expect=expect,
        )
    )


def _run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    A thread that already runs an event loop (a notebook, a sync call inside async code)
    cannot start another, so there the coroutine gets a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, make()).result()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks (footage may be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
