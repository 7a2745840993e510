"""The one ReID tool every surface calls, over a local or a remote backend.

`ReIDTool.analyze(request)` returns the same `ReIDResult` whether the engine runs in this
process (`LocalBackend`, the default) or behind a compatible HTTP API (`RemoteBackend`).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from tools.reid import engine
from tools.reid.errors import InvalidInput
from tools.reid.fetch import fetch_to_file, is_url, safe_file_name
from tools.reid.logs import keep_urls_out_of_logs
from tools.reid.progress import ProgressFn, no_progress
from tools.reid.remote import RemoteBackend
from tools.reid.schemas import AnalysisOptions, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings, get_settings


class Backend(Protocol):
    """Runs one request to completion."""

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult: ...


class LocalBackend:
    """The embedded engine, in this process (and its worker pool)."""

    def __init__(self, settings: ReIDSettings) -> None:
        self.settings = settings

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        with tempfile.TemporaryDirectory(prefix="reid-") as scratch:
            stage = _Stager(Path(scratch), self.settings)
            media = stage.media(request.media)
            persons = {p.name: [stage.photo(p.name, loc) for loc in p.photos] for p in request.persons}
            return engine.analyze(
                media,
                persons,
                prompt=request.prompt,
                options=self._options(request),
                limits=engine.Limits.from_settings(self.settings),
                workers=self.settings.workers,
                progress=progress,
            )

    def _options(self, request: ReIDRequest) -> AnalysisOptions:
        """The request's options when it set them, else the defaults these settings choose."""
        return request.options if "options" in request.model_fields_set else self.settings.analysis_options()


class _Stager:
    """Turns each location of a request into a local file: URLs are fetched into scratch,
    paths are checked to exist. Scratch is deleted with the request."""

    def __init__(self, scratch: Path, settings: ReIDSettings) -> None:
        self.scratch = scratch
        self.settings = settings

    def media(self, location: str) -> Path:
        return self._local(location, "footage", self.settings.max_media_bytes, "media")

    def photo(self, person: str, location: str) -> Path:
        return self._local(location, f"reference photo for {person}", self.settings.max_photo_bytes, "image")

    def _local(self, location: str, what: str, max_bytes: int, expect: str) -> Path:
        if is_url(location):
            fetched = fetch_to_file(
                location,
                self.scratch,
                max_bytes=max_bytes,
                timeout_s=self.settings.fetch_timeout_s,
                allow_private=self.settings.allow_private_urls,
                what=what,
                expect=expect,  # type: ignore[arg-type]
            )
            return self._named_after(fetched, location)
        path = Path(location).expanduser()
        if not path.is_file():
            raise InvalidInput(
                f"The {what} {location!r} is not a file that exists here. Give a path or an http(s) URL."
            )
        return path

    def _named_after(self, fetched: Path, url: str) -> Path:
        """Moves a fetched file to the URL's file name (in a folder of its own), so that
        errors name ``clip.mp4`` rather than a temporary name."""
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        return fetched.rename(folder / safe_file_name(PurePosixPath(urlsplit(url).path).name, "download"))


def stop_engine_workers() -> None:
    """End the embedded engine's worker processes at once (SIGTERM, SIGINT): an analysis in
    flight fails, and no worker is left running after this process. Entry points call it
    when they are told to stop."""
    engine.shutdown_pool()


def make_backend(settings: ReIDSettings) -> Backend:
    if settings.backend == "remote":
        return RemoteBackend(settings)
    return LocalBackend(settings)


class ReIDTool:
    """Finds the named persons in a video or an image.

    Args:
        settings: configuration; the process-wide `REID_*` settings by default.
        backend: overrides the backend the settings choose.
    """

    def __init__(self, settings: ReIDSettings | None = None, backend: Backend | None = None) -> None:
        keep_urls_out_of_logs()
        self.settings = settings or get_settings()
        self.backend = backend or make_backend(self.settings)

    def analyze(self, request: ReIDRequest, progress: ProgressFn | None = None) -> ReIDResult:
        return self.backend.analyze(request, progress or no_progress)

    async def aanalyze(self, request: ReIDRequest, progress: ProgressFn | None = None) -> ReIDResult:
        """The same, off the event loop: the engine is CPU-bound and blocking."""
        return await asyncio.to_thread(self.analyze, request, progress)

    @staticmethod
    def render_keyframes(media: Path, result: ReIDResult, out_dir: Path) -> list[Path]:
        """Annotated JPEGs, one per found person, drawn from the local copy of the media."""
        return engine.render_keyframes(media, result, out_dir)
