"""The remote backend: the same `ReIDResult`, computed by a compatible HTTP API.

Videos go to ``/v1/understand/upload``, which takes URLs only, and the result is fetched
by polling our service's task endpoint (`analyze`) or delivered to a callback (`submit`,
for callers such as the Slack bot that receive callbacks). Images go to
``/v1/understand/uploadImg``, local files as a multipart upload.

The hosted memories.ai service returns only a caption (``text``): `result_from_callback`
then fills the structured fields as unknown, every person "not found" with confidence 0
and the media kind "video"; read ``text`` for the answer. It also has no task endpoint,
so against it use `submit` with a callback; `analyze` works for images only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tools.reid.errors import EngineError, InvalidInput
from tools.reid.fetch.policy import is_url
from tools.reid.fetch.sniff import SNIFF_BYTES, sniff_kind
from tools.reid.progress import ProgressFn
from tools.reid.remote.client import ReIDClient
from tools.reid.remote.wire import CallbackPayload
from tools.reid.schemas import CaptionInfo, MediaInfo, PersonResult, ReIDRequest, ReIDResult, Stats, TokenUsage
from tools.reid.settings import ReIDSettings

DEFAULT_PROMPT = "Identify the known persons."
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".avif"})


class RemoteBackend:
    """Runs requests on the API at ``REID_API_URL`` with the key ``REID_API_KEY``."""

    def __init__(self, settings: ReIDSettings, client: ReIDClient | None = None) -> None:
        self.settings = settings
        self.client = client or ReIDClient(settings=settings)

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        """Run the request and wait for its result.

        Raises:
            InvalidInput: a video or its reference photos are local files (the API takes URLs),
                or the service refused the request (`BadRequest`).
            ApiError: the service answered another error (see `tools.reid.remote.errors`).
            TaskTimeout: a video task did not end within ``REID_API_TASK_TIMEOUT_S``.
        """
        names = [person.name for person in request.persons]
        if is_image(request.media):
            data = self._image(request, None)
            progress(1.0)
            return result_from_callback({"status": 0, "task_id": "", "data": data}, names)
        task_id = self.submit(request, None)
        status = self.client.wait(task_id, self.settings.api_task_timeout_s, on_progress=progress)
        return result_from_callback(status.as_payload(), names)

    def submit(self, request: ReIDRequest, callback_url: str | None) -> str:
        """Start the request and return its task id; the result goes to ``callback_url`` (or,
        on our service, comes from the task endpoint)."""
        if is_image(request.media):
            return str(self._image(request, callback_url)["task_id"])
        _require_urls(request)
        return self.client.submit_video(
            request.media,
            _photos(request),
            _prompt(request),
            callback=callback_url,
            options=_options(request),
            **_caption_fields(request),
        )

    def _image(self, request: ReIDRequest, callback_url: str | None) -> dict[str, Any]:
        return self.client.analyze_image(
            request.media,
            _photos(request),
            _prompt(request),
            callback=callback_url,
            options=_options(request),
            **_caption_fields(request),
        )


def is_image(location: str) -> bool:
    """Whether the media is an image: by its first bytes when local, by its extension when a URL.

    A URL without an image extension is treated as a video; our service analyses either there.
    """
    if is_url(location):
        return Path(location.split("?", 1)[0]).suffix.lower() in IMAGE_SUFFIXES
    path = Path(location).expanduser()
    if not path.is_file():
        raise InvalidInput(f"The media {location!r} is not a file that exists here. Give a path or an http(s) URL.")
    with path.open("rb") as handle:
        kind = sniff_kind(handle.read(SNIFF_BYTES))
    return kind == "image" or (kind == "unknown" and path.suffix.lower() in IMAGE_SUFFIXES)


def _require_urls(request: ReIDRequest) -> None:
    advice = "Put the file where the service can fetch it (an http(s) URL), or use REID_BACKEND=local."
    if not is_url(request.media):
        raise InvalidInput(f"The video {request.media} is a local file, but the API takes videos by URL only. {advice}")
    for person in request.persons:
        local = [photo for photo in person.photos if not is_url(photo)]
        if local:
            raise InvalidInput(
                f"The reference photo {local[0]} of {person.name} is a local file, but with a video the API "
                f"takes reference photos by URL only. {advice}"
            )


def _photos(request: ReIDRequest) -> list[tuple[str, str]]:
    return [(person.name, photo) for person in request.persons for photo in person.photos]


def _prompt(request: ReIDRequest) -> str:
    return request.prompt or DEFAULT_PROMPT


def _caption_fields(request: ReIDRequest) -> dict[str, Any]:
    """The request's system prompt, when it has one (the client has the spec's defaults), and
    how hard the caption model may think."""
    prompt = {"system_prompt": request.system_prompt} if request.system_prompt else {}
    return prompt | {"thinking": request.thinking, "reasoning_effort": request.reasoning_effort}


def _options(request: ReIDRequest) -> dict[str, Any] | None:
    """The engine options, sent only when the caller chose them (the service has its defaults)."""
    return request.options.model_dump() if "options" in request.model_fields_set else None


def result_from_callback(payload: Mapping[str, Any], persons: Sequence[str] = ()) -> ReIDResult:
    """The one result model from a callback payload (or `TaskStatus.as_payload()`).

    Args:
        payload: ``{"status", "task_id", "data": {"text", "token", ...}}``.
        persons: the names asked for; used when the payload has only ``text`` (the hosted
            service), to list each as not found.

    Raises:
        InvalidInput: status -1 because the request was invalid (``data.text`` says why).
        EngineError: status -1 for another reason, or the payload is not a callback payload.
    """
    try:
        parsed = CallbackPayload.model_validate(payload)
    except ValidationError as exc:
        count = exc.error_count()
        raise EngineError(f"The service sent a result that is not a callback payload ({count} errors).") from None
    data = parsed.data
    if parsed.status != 0:
        raise (InvalidInput if data.error == "invalid_input" else EngineError)(data.text)
    extra = data.model_extra or {}
    if "persons" in extra and "media" in extra:
        return ReIDResult.model_validate(payload["data"])
    return _text_only(data.text, data.token, persons)


def _text_only(text: str, token: TokenUsage, persons: Sequence[str]) -> ReIDResult:
    """A result holding just the caption and its tokens: the hosted service measures nothing
    else we can read."""
    return ReIDResult(
        media=MediaInfo(kind="video", duration_s=0.0, width=0, height=0),
        persons=[PersonResult(name=name, found=False, confidence=0.0) for name in persons],
        unknown_faces=0,
        text=text,
        token=token,
        caption=CaptionInfo(writer="remote"),
        stats=Stats(frames_decoded=0, frames_analysed=0, faces_detected=0, wall_s=0.0),
    )
