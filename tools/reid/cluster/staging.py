"""The worker's side: a local copy of the footage per task, then the engine's call on it.

A task's footage arrives either as bytes (a local file scattered once to every worker) or as
a URL each worker fetches itself with the SSRF-safe fetcher, under the client's limits, and
checks against the client's SHA-256 so every worker analyses the very bytes the client
probed. The copy is kept for the task's other segments on that worker and deleted by
`release` when the task ends.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from distributed import get_worker

from tools.reid.cluster import version
from tools.reid.errors import ClusterUnavailable, FetchError
from tools.reid.fetch.download import fetch_to_file, file_sha256
from tools.reid.fetch.policy import redact_url

T = TypeVar("T")


@dataclass(frozen=True)
class MediaURL:
    """Footage the workers fetch themselves, with the limits the client applied."""

    url: str
    sha256: str
    max_bytes: int
    timeout_s: float
    allow_private: bool


@dataclass(frozen=True)
class StagedTask:
    """What every segment of one task tells its worker, beside the scattered bytes if any."""

    key: str
    client_path: Path
    """The footage's path on the client: replaced in the arguments by the worker's copy."""
    url: MediaURL | None
    version: str


_copies: dict[str, Path] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def run_staged(task: StagedTask, data: bytes | None, fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[str, T]:
    """``fn(*args)`` on this worker's copy of the footage; returns the worker's address too."""
    address = get_worker().address
    mine = version.project_version()
    if mine != task.version:
        raise ClusterUnavailable(
            f"Dask worker {address} runs {mine}, but the client runs {task.version}. Install the same "
            "version of reid-footage on every worker and restart them."
        )
    local = _local_copy(task, data)
    return address, fn(*(local if isinstance(a, Path) and a == task.client_path else a for a in args))


def release(key: str) -> None:
    """Delete this worker's copy of a task's footage (run on every worker when the task ends)."""
    with _guard:
        _locks.pop(key, None)
        path = _copies.pop(key, None)
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


def _local_copy(task: StagedTask, data: bytes | None) -> Path:
    with _guard:
        lock = _locks.setdefault(task.key, threading.Lock())
    with lock:
        path = _copies.get(task.key)
        if path is None:
            folder = Path(tempfile.mkdtemp(prefix="reid-stage-"))
            try:
                path = _write(task, data, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            with _guard:
                _copies[task.key] = path
        return path


def _write(task: StagedTask, data: bytes | None, folder: Path) -> Path:
    """The footage in ``folder`` under the client's file name, so errors name the same file."""
    path = folder / task.client_path.name
    if data is not None:
        path.write_bytes(data)
        return path
    if task.url is None:
        raise ValueError("a staged task needs either scattered bytes or a URL")
    media = task.url
    fetched = fetch_to_file(
        media.url,
        folder,
        max_bytes=media.max_bytes,
        timeout_s=media.timeout_s,
        allow_private=media.allow_private,
        what="footage",
        expect="media",
    )
    if file_sha256(fetched) != media.sha256:
        raise FetchError(
            f"The footage at {redact_url(media.url)} changed while it was being analysed (a Dask worker "
            "fetched different bytes). Send it again once it no longer changes."
        )
    return fetched.rename(path)
