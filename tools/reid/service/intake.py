"""Turning the wire requests into the one `ReIDRequest` the engine serves.

Every URL (media, reference photos, callback) passes the fetch policy here, before the task
is accepted, so a refused address is a 0001 answer rather than a failed task. In the
multipart image form the first ``file`` part is the image and each later one a reference
photo, whose person is the ``persons`` entry at the same position when there is one, else
the file name without its extension (``alice.png`` -> ``alice``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from tools.reid.fetch.download import safe_file_name
from tools.reid.fetch.policy import check_url
from tools.reid.fetch.sniff import SNIFF_BYTES, sniff_kind
from tools.reid.remote.errors import BadRequest
from tools.reid.remote.wire import CaptionRequest, ImageRequest, PersonRef, VideoRequest
from tools.reid.schemas import MAX_PERSONS, ReIDRequest
from tools.reid.service.errors import describe_validation_errors, size_text
from tools.reid.settings import ReIDSettings
from tools.reid.workdir import private_file, private_folder

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_PHOTOS_PER_PERSON = 10
MAX_FILE_PARTS = 1 + MAX_PERSONS * MAX_PHOTOS_PER_PERSON
CHUNK = 1024 * 1024
_NOT_IMAGES = {"video": "a video", "html": "a web page (HTML)"}
NO_PERSONS = (
    "persons: give at least one person to look for, each a name and a reference photo (a `url`, "
    "or a `file` part in the multipart form), or the name of someone enrolled (/v1/people); this service "
    "only re-identifies people."
)


@dataclass
class Sources:
    """Where the media and each person's photos come from. URLs are listed apart, for the
    policy check; spooled uploads are our own files and need none."""

    media: str = ""
    photos: dict[str, list[str]] = field(default_factory=dict)
    enrolled: list[str] = field(default_factory=list)
    """Names with neither a photo nor a URL: the people enrolled under them."""
    urls: list[tuple[str, str]] = field(default_factory=list)
    """(what, url), ``what`` as error messages name it ("video", "reference photo for Alice")."""

    def set_media_url(self, url: str, what: str) -> None:
        self.media = url
        self.urls.append((what, url))

    def add_photo_url(self, name: str, url: str) -> None:
        self.add_photo(name, url)
        self.urls.append((f"reference photo for {name}", url))

    def add_photo(self, name: str, location: str) -> None:
        self.photos.setdefault(name, []).append(location)


def parse(model: type[ModelT], raw: bytes, prefix: str = "") -> ModelT:
    """Validate JSON into ``model``; a 0001 naming the fields when it does not fit."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise BadRequest(describe_validation_errors(exc.errors(), prefix)) from None


def video_request(body: VideoRequest, settings: ReIDSettings) -> ReIDRequest:
    """The engine request of ``/v1/understand/upload`` (blocking: it resolves host names)."""
    sources = _url_persons(body.persons)
    sources.set_media_url(body.video_url, "video")
    return _checked(sources, body, settings)


def image_json_request(body: ImageRequest, settings: ReIDSettings) -> ReIDRequest:
    """The engine request of the JSON form of ``/v1/understand/uploadImg`` (blocking)."""
    sources = _url_persons(body.persons)
    sources.set_media_url(body.image_url(), "image")
    return _checked(sources, body, settings)


async def image_form_request(http: Request, folder: Path, settings: ReIDSettings) -> tuple[CaptionRequest, ReIDRequest]:
    """The options and engine request of the multipart form; uploads are saved into ``folder``."""
    sources = Sources()
    async with _form(http, settings) as form:
        options = parse(CaptionRequest, await _req_part(form, settings.max_json_bytes), prefix="req")
        image, *references = _file_parts(form)
        sources.media = str(await _save(image, _spool_path(folder, 0, image, "image")))
        for index, upload in enumerate(references):
            name = _person_for(index, upload, options.persons)
            dest = _spool_path(folder, index + 1, upload, "photo")
            sources.add_photo(name, str(await _save(upload, dest, person=name)))
    for index, person in enumerate(options.persons):
        if person.url:
            sources.add_photo_url(person.name, person.url)
        elif index >= len(references):
            sources.enrolled.append(person.name)
    return options, await run_in_threadpool(_checked, sources, options, settings)


def _url_persons(persons: list[PersonRef]) -> Sources:
    sources = Sources()
    for person in persons:
        if person.url:
            sources.add_photo_url(person.name, person.url)
        else:
            sources.enrolled.append(person.name)
    return sources


def _checked(sources: Sources, options: CaptionRequest, settings: ReIDSettings) -> ReIDRequest:
    """Apply the URL policy to every URL of the request and build the engine request."""
    if not sources.photos and not sources.enrolled and not options.everyone_enrolled:
        raise BadRequest(NO_PERSONS)
    urls = sources.urls + ([("callback", options.callback)] if options.callback else [])
    for what, url in urls:
        check_url(url, allow_private=settings.allow_private_urls, what=what)
    try:
        return ReIDRequest.model_validate(
            {
                "media": sources.media,
                "persons": [{"name": name, "photos": photos} for name, photos in sources.photos.items()],
                "enrolled": sources.enrolled,
                "everyone_enrolled": options.everyone_enrolled,
                "prompt": options.user_prompt,
                "system_prompt": options.system_prompt,
                "thinking": options.thinking,
                "reasoning_effort": options.reasoning_effort,
                "options": options.options or settings.analysis_options(),
            }
        )
    except ValidationError as exc:
        raise BadRequest(describe_validation_errors(exc.errors())) from None


@asynccontextmanager
async def _form(http: Request, settings: ReIDSettings) -> AsyncIterator[FormData]:
    """The multipart form, its fields (``req``) read within the JSON cap; a form Starlette
    cannot read (a field over the cap, too many parts, a broken boundary) is a 0001 saying why."""
    try:
        form = await http.form(
            max_files=MAX_FILE_PARTS, max_fields=MAX_FILE_PARTS + 1, max_part_size=settings.max_json_bytes
        )
    except HTTPException as exc:
        raise BadRequest(f"The multipart form cannot be read: {str(exc.detail).rstrip('.')}. {_REQ_CAP_HINT}") from None
    try:
        yield form
    finally:
        await form.close()


_REQ_CAP_HINT = "The `req` part holds the JSON options only (at most REID_MAX_JSON_BYTES); files go in `file` parts."


async def _req_part(form: FormData, cap: int) -> bytes:
    part = form.get("req")
    if part is None:
        raise BadRequest(
            "req is required: the multipart form needs a `req` part holding the JSON options "
            "(user_prompt, system_prompt, persons, callback)."
        )
    raw = await part.read(cap + 1) if isinstance(part, UploadFile) else part.encode()
    if len(raw) > cap:
        raise BadRequest(
            f"req: the JSON options are larger than this service accepts ({size_text(cap)}). {_REQ_CAP_HINT}"
        )
    return raw


def _file_parts(form: FormData) -> list[UploadFile]:
    files = [part for part in form.getlist("file") if isinstance(part, UploadFile)]
    if not files:
        raise BadRequest("file is required: send the image to analyse as the first `file` part.")
    return files


def _person_for(index: int, upload: UploadFile, persons: list[PersonRef]) -> str:
    """The person the ``index``-th reference photo shows: the ``persons`` entry at that
    position, else the file's name without extension."""
    if index < len(persons):
        return persons[index].name
    stem = Path(upload.filename or "").stem.strip()
    if not stem:
        raise BadRequest(
            f"file: reference photo {index + 1} has no file name to take the person's name from; "
            f"name the person in req.persons[{index}]."
        )
    return stem


def _spool_path(folder: Path, index: int, upload: UploadFile, default: str) -> Path:
    """Where the ``index``-th file part is spooled: under its own file name (in a numbered
    sub-folder, so two parts may share a name), so the engine's messages name the file the
    client sent rather than a spool name."""
    part = folder / f"{index:02d}"
    return private_folder(part) / safe_file_name(upload.filename or "", default)


async def _save(upload: UploadFile, dest: Path, person: str | None = None) -> Path:
    """Copy an upload to ``dest``, refusing it early when its first bytes are not an image.

    Formats the sniffer does not know pass; the engine then says precisely what is wrong.
    """
    head = await upload.read(SNIFF_BYTES)
    kind = sniff_kind(head)
    if not head or kind in _NOT_IMAGES:
        what = f"the reference photo for {person}" if person else "the image to analyse"
        found = _NOT_IMAGES[kind] if head else "empty"
        if kind == "video" and person is None:
            advice = "Send videos by URL to /v1/understand/upload."
        else:
            advice = "Upload a JPEG or PNG photo."
        raise BadRequest(f"file: {upload.filename!r}, {what}, is {found}, not an image. {advice}")
    with private_file(dest) as out:
        out.write(head)
        while chunk := await upload.read(CHUNK):
            out.write(chunk)
    return dest
