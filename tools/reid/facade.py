"""The one ReID tool every surface calls, over a local or a remote backend.

`ReIDTool.analyze(request)` returns the same `ReIDResult` whether the engine runs in this
process (`LocalBackend`, the default) or behind a compatible HTTP API (`RemoteBackend`).
With the local backend the caption is then written by the configured writer (`tools.reid.captions`):
the template by default, or a language model; a remote API writes its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable
from urllib.parse import urlsplit

from tools.reid import engine
from tools.reid.captions import CaptionAsk, CaptionWriter, chat_model_writer, writer_from_settings
from tools.reid.engine.references import Person
from tools.reid.errors import InvalidInput, ReIDError
from tools.reid.fetch.download import fetch_to_file, file_sha256, safe_file_name
from tools.reid.fetch.policy import is_url
from tools.reid.logs import keep_urls_out_of_logs
from tools.reid.paths import is_local_file
from tools.reid.progress import ProgressFn, no_progress
from tools.reid.remote.backend import RemoteBackend, result_from_callback
from tools.reid.schemas import AnalysisOptions, MediaInfo, Moment, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.reid.cluster import ClusterSession
    from tools.reid.gallery import Asker, Enrolment, Gallery, Surface, TenantGallery

    CaptionChoice: TypeAlias = CaptionWriter | BaseChatModel | None

TIMELINE_FILE = "timeline.png"


class Backend(Protocol):
    """Runs one request to completion."""

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult: ...


@runtime_checkable
class CallbackBackend(Backend, Protocol):
    """A backend that can also answer later, by POSTing the result to a callback URL (a remote API)."""

    def submit(self, request: ReIDRequest, callback_url: str | None) -> str: ...


class LocalBackend:
    """The embedded engine, in this process (and its worker pool), or with its video segments
    on a Dask cluster when ``settings.cluster`` names one; then ``caption`` (by default the
    writer the settings choose) writes the caption, with the media still at hand for its pictures.
    Fetched files go to a private folder per request, under ``scratch_root`` (the service's and
    the bot's work folder, `tools.reid.workdir`) or the system's temp folder.

    Raises:
        MissingExtra, InvalidInput: the configured caption model cannot be set up.
    """

    def __init__(
        self, settings: ReIDSettings, caption: CaptionWriter | None = None, scratch_root: Path | None = None
    ) -> None:
        self.settings = settings
        self.caption = caption or writer_from_settings(settings)
        self.scratch_root = scratch_root

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        return self.analyze_with(request, progress, ())

    def analyze_with(
        self,
        request: ReIDRequest,
        progress: ProgressFn,
        enrolled: Sequence[Person],
        finish: Callable[[ReIDResult], ReIDResult] | None = None,
    ) -> ReIDResult:
        """The same, also searching for ``enrolled`` people (a gallery's, described already);
        the result's ``media.sha256`` says which media was analysed. ``finish`` settles the
        findings (a gallery search drops whom it does not report) before the caption is written."""
        with _Stager(self.scratch_root, self.settings) as stage, self._cluster() as cluster:
            media = stage.media(request.media)
            persons = {p.name: [stage.photo(p.name, loc) for loc in p.photos] for p in request.persons}
            result = engine.analyze(
                media,
                persons,
                prompt=request.prompt,
                options=self._options(request),
                limits=_limits(self.settings),
                workers=self.settings.workers,
                runner=cluster.runner(request.media, media) if cluster else None,
                progress=progress,
                enrolled=enrolled,
            )
            result.media.sha256 = file_sha256(media)
            if finish is not None:
                result = finish(result)
            return self.caption.write(result, CaptionAsk.of(request), media).applied_to(result)

    def _cluster(self) -> contextlib.AbstractContextManager[ClusterSession | None]:
        """The request's session on the configured cluster, entered before any download so an
        unusable cluster is reported at once; nothing without a cluster."""
        if self.settings.cluster is None:
            return contextlib.nullcontext()
        from tools.reid.cluster import ClusterSession  # the [cluster] extra: the default needs no Dask

        return ClusterSession(self.settings)

    def _options(self, request: ReIDRequest) -> AnalysisOptions:
        """The request's options when it set them, else the defaults these settings choose."""
        return request.options if "options" in request.model_fields_set else self.settings.analysis_options()


class _Stager:
    """Turns each location of a request into a local file: URLs are fetched into a scratch
    folder (made private under ``root`` on the first download), paths are checked to exist.
    Scratch is deleted with the request."""

    def __init__(self, root: Path | None, settings: ReIDSettings) -> None:
        self.root = root
        self.settings = settings
        self._scratch: Path | None = None

    def __enter__(self) -> _Stager:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    @property
    def scratch(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="reid-", dir=self.root))
        return self._scratch

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
        if not is_local_file(location):
            raise InvalidInput(
                f"The {what} {location!r} is not a file that exists here. Give a path or an http(s) URL."
            )
        return path

    def _named_after(self, fetched: Path, url: str) -> Path:
        """Moves a fetched file to the URL's file name (in a folder of its own), so that
        errors name ``clip.mp4`` rather than a temporary name."""
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        return fetched.rename(folder / safe_file_name(PurePosixPath(urlsplit(url).path).name, "download"))


def _limits(settings: ReIDSettings) -> engine.Limits:
    """The engine's limits, as the ``REID_MAX_*`` settings set them."""
    return engine.Limits(settings.max_media_bytes, settings.max_duration_s, settings.max_pixels)


_galleries: dict[Path, Gallery] = {}
_galleries_lock = threading.Lock()


def open_gallery(path: Path) -> Gallery:
    """The gallery in the file at ``path``, opened once per process (the service's routes and its
    task threads share one connection)."""
    from tools.reid.gallery import Gallery

    with _galleries_lock:
        key = path.resolve()
        if key not in _galleries:
            _galleries[key] = Gallery(path)
        return _galleries[key]


def stop_engine_workers() -> None:
    """Stop the embedded engine's helper threads at once (SIGTERM, SIGINT): an analysis in
    flight fails, and no segment runs on while this process exits. Entry points call it
    when they are told to stop."""
    engine.shutdown_pool()


def make_backend(settings: ReIDSettings, caption: CaptionWriter | None = None) -> Backend:
    """The backend the settings choose; ``caption`` writes a local backend's captions (a remote
    API writes its own)."""
    if settings.backend == "remote":
        return RemoteBackend(settings)
    return LocalBackend(settings, caption)


class ReIDTool:
    """Finds the named persons in a video or an image.

    Args:
        settings: configuration; the process-wide `REID_*` settings by default.
        backend: overrides the backend the settings choose.
        gallery: the enrolled people's gallery; by default the one in ``REID_DB_PATH``, opened on first use.
        caption: who writes the caption with the local backend: a `CaptionWriter`, or any LangChain
            chat model (with the ``REID_CAPTION_*`` deadline, budget and pictures); by default
            the writer ``REID_CAPTION_MODEL`` chooses (the template when unset).

    Raises:
        MissingExtra, InvalidInput: the caption model cannot be set up.
    """

    def __init__(
        self,
        settings: ReIDSettings | None = None,
        backend: Backend | None = None,
        gallery: Gallery | None = None,
        caption: CaptionChoice = None,
    ) -> None:
        keep_urls_out_of_logs()
        self.settings = settings or get_settings()
        self.backend = backend or make_backend(self.settings, self._writer(caption))
        self._gallery = gallery

    def _writer(self, caption: CaptionChoice) -> CaptionWriter | None:
        if caption is None or isinstance(caption, CaptionWriter):
            return caption
        return chat_model_writer(caption, self.settings)

    @property
    def gallery(self) -> Gallery:
        """The gallery's tables in the ``REID_DB_PATH`` file (beside the service's tasks), opened on first use."""
        if self._gallery is None:
            self._gallery = open_gallery(self.settings.db_path)
            self._gallery.purge(self.settings.audit_retention_days * 86400)
        return self._gallery

    @gallery.setter
    def gallery(self, gallery: Gallery) -> None:
        """A surface with a file of its own (the Slack bot's) keeps its gallery there."""
        self._gallery = gallery

    def people(self, tenant: str) -> TenantGallery:
        """One tenant's gallery: enrol, list, show, remove, read the audit log."""
        return self.gallery.tenant(tenant)

    def name_unknown(
        self,
        tenant: str,
        result: ReIDResult,
        person_id: str,
        name: str,
        *,
        by: str,
        consent: str,
        source: str,
        crop: bytes,
        surface: Surface,
    ) -> Enrolment:
        """Enrols the unknown person ``person_id`` of ``result`` as ``name`` in ``tenant``'s
        gallery, from the descriptors the result kept (no new analysis); ``crop`` is their face,
        the thumbnail they are reviewed by. The audit log records who named whom.

        Raises:
            InvalidInput: no such person, no descriptors, no consent, a refused enrolment.
        """
        from tools.reid.gallery.naming import enrol_unknown, unknown_person_of

        person = unknown_person_of(result, person_id)
        return enrol_unknown(
            self.people(tenant), person, name, by=by, consent=consent, source=source, crop=crop, surface=surface
        )

    def analyze(
        self, request: ReIDRequest, progress: ProgressFn | None = None, asker: Asker | None = None
    ) -> ReIDResult:
        """Run the request; with an ``asker``, enrolled names are searched in their tenant's
        gallery and the search is written to its audit log (who, surface, for whom, media, when).

        Raises:
            InvalidInput: enrolled names without an asker or with the remote backend, an unknown
                name (close names suggested), an empty gallery, or any bad input of the request.
        """
        progress = progress or no_progress
        if not request.gallery_search():
            return self._audited(
                asker, [p.name for p in request.persons], lambda: self.backend.analyze(request, progress)
            )
        if asker is None:
            raise InvalidInput("a search by enrolled name needs to know whose gallery to use (a tenant).")
        if not isinstance(self.backend, LocalBackend):
            raise InvalidInput(
                "enrolled people are searched by the embedded engine, which keeps the gallery: use REID_BACKEND=local, "
                "or send reference photos to the remote API."
            )
        from tools.reid.gallery.search import GallerySearch

        local = self.backend
        search = GallerySearch.prepare(self.people(asker.tenant), request)
        return self._audited(
            asker, search.names(), lambda: local.analyze_with(request, progress, search.people(), search.finish)
        )

    def check_gallery_search(self, request: ReIDRequest, tenant: str) -> None:
        """Refuse, before a task is accepted, what the gallery would refuse when it runs.

        Raises:
            NotEnrolled, EmptyGallery, ReEnrolNeeded: see `TenantGallery.resolve` and `everyone`.
        """
        if request.gallery_search():
            from tools.reid.gallery.search import GallerySearch

            GallerySearch.prepare(self.people(tenant), request)

    def _audited(self, asker: Asker | None, names: list[str], run: Callable[[], ReIDResult]) -> ReIDResult:
        if asker is None:
            return run()
        audit = self.people(asker.tenant)
        try:
            result = run()
        except ReIDError as exc:
            audit.record(asker, "search", names, None, f"failed: {type(exc).__name__}")
            raise
        found = [p.name for p in result.found()]
        audit.record(asker, "search", names, result.media.sha256, f"found: {', '.join(found) or 'nobody'}")
        return result

    async def aanalyze(
        self, request: ReIDRequest, progress: ProgressFn | None = None, asker: Asker | None = None
    ) -> ReIDResult:
        """The same, off the event loop: the engine is CPU-bound and blocking."""
        return await asyncio.to_thread(self.analyze, request, progress, asker)

    @property
    def answers_by_callback(self) -> bool:
        """Whether this tool's answers arrive by callback: a surface that can receive one then
        `submit`s with its URL and reads the body with `result_from_callback`, instead of
        waiting in `analyze` (a remote service: the hosted one has nothing to wait on)."""
        return isinstance(self.backend, CallbackBackend)

    def submit(self, request: ReIDRequest, callback_url: str) -> str:
        """Start the request and return its task id; the result is POSTed to ``callback_url``.

        Raises:
            ValueError: this tool answers in `analyze` only (see `answers_by_callback`).
            InvalidInput, ApiError: as the remote backend's ``submit``.
        """
        if not isinstance(self.backend, CallbackBackend):
            raise ValueError("This ReID tool runs requests here and answers in analyze(); it takes no callback.")
        return self.backend.submit(request, callback_url)

    @staticmethod
    def result_from_callback(payload: Mapping[str, Any], persons: Sequence[str] = ()) -> ReIDResult:
        """The result a callback body holds (see `tools.reid.remote.result_from_callback`).

        Raises:
            InvalidInput: the service refused the request; EngineError: it failed, or the body
                is not a callback payload.
        """
        return result_from_callback(payload, persons)

    def caption_sees_pictures(self) -> bool:
        """Whether a language model writes the captions looking at the frames too, so an answer
        can say what people do; False for the template and for a remote API (whose we cannot know)."""
        writer = getattr(self.backend, "caption", None)
        return bool(getattr(writer, "images", False))

    def local_copy(self, location: str, folder: Path) -> Path:
        """The media as a local file: a path as it is, a URL fetched into ``folder`` under the
        same policy and limits as an analysis. Pictures need the frames, so a caller that wants
        them fetches once, analyses this copy and draws from it.

        Raises:
            InvalidInput: a missing file; FetchError: a URL that cannot be fetched.
        """
        return _Stager(folder, self.settings).media(location)

    def media_info(self, media: Path) -> MediaInfo:
        """What a local media file is (kind, duration, size), checked against the limits.

        Raises:
            MediaError: the file is not a readable video or image, or is over a limit.
        """
        return engine.probe(media, _limits(self.settings))

    def render_pictures(self, media: Path, result: ReIDResult, out_dir: Path, unknown: bool = False) -> list[Path]:
        """The pictures of an answer, written into ``out_dir``: for a video ``timeline.png``
        first, then the keyframes, then a face crop per unknown person
        (``unknown-person-1.jpg``...); for a photo the annotated photo.

        Args:
            media: the local copy of the analysed media (see `local_copy`).
            result: its result.
            out_dir: created when missing.
            unknown: the timeline has a row per unknown person too.
        """
        pictures = []
        if result.media.kind == "video":
            pictures.append(engine.render_timeline(result, out_dir / TIMELINE_FILE, unknown))
        pictures += engine.render_keyframes(media, result, out_dir)
        return pictures + engine.render_unknown_crops(media, result, out_dir)

    @staticmethod
    def render_unknown_crops(media: Path, result: ReIDResult, out_dir: Path) -> list[Path]:
        """A face crop (JPEG) per unknown person of ``result``, in their order."""
        return engine.render_unknown_crops(media, result, out_dir)

    @staticmethod
    def keyframe_moments(result: ReIDResult) -> list[Moment]:
        """The moment each keyframe shows, in the order `render_pictures` (after the timeline)
        writes them, so a surface can title each picture by who is in it."""
        return engine.drawn_moments(result)

    @staticmethod
    def render_timeline(result: ReIDResult, path: Path, unknown: bool = False) -> Path:
        """Writes a video result's timeline PNG at ``path`` (``unknown``: with the unknown people's rows).

        Raises:
            ValueError: the result is a photo's, which has no timeline.
        """
        return engine.render_timeline(result, path, unknown)

    @staticmethod
    def timeline_png(result: ReIDResult) -> bytes:
        """A video result's timeline as PNG bytes (for an HTTP answer).

        Raises:
            ValueError: the result is a photo's, which has no timeline.
        """
        out = io.BytesIO()
        engine.timeline_image(result).save(out, "PNG")
        return out.getvalue()
