"""The wire models of the memories.ai-compatible API, shared by our service and our client.

Field names and shapes are the hosted service's (see ``shared/spec``); what we add is marked
"extension" in its description. Result data keeps the documented ``text`` and ``token`` and
adds the structured fields of `ReIDResult` beside them, never instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.reid.schemas import MAX_PERSONS, AnalysisOptions, PersonName, ReIDResult, TokenUsage

SUCCESS = "0000"
DataT = TypeVar("DataT")

# The request and callback examples of the hosted API's documentation (shared/spec), shown in /docs.
SPEC_VIDEO_REQUEST: dict[str, Any] = {
    "video_url": "https://example.com/test_video.mp4",
    "user_prompt": "Summarize the video and identify known persons.",
    "system_prompt": "You are a video understanding system that can detect and identify people.",
    "callback": "https://yourserver.com/callback",
    "persons": [
        {"name": "Alice", "url": "https://example.com/alice.jpg"},
        {"name": "Bob", "url": "https://example.com/bob.jpg"},
    ],
}
SPEC_IMAGE_REQ: dict[str, Any] = {
    "user_prompt": "Identify if Alice appears in this image.",
    "system_prompt": "You are an image analysis system with human re-identification capabilities.",
    "thinking": False,
}
"""The ``req`` part of the spec's multipart image example (its files: the image, then alice.png)."""
SPEC_CALLBACK: dict[str, Any] = {
    "status": 0,
    "task_id": "a1b2c3d4e5",
    "data": {
        "text": "Bob and Alice are both present in the video. Alice enters first, followed by Bob.",
        "token": {"input": 210, "output": 92, "total": 302},
    },
}

TaskState = Literal["queued", "running", "done", "failed"]
ErrorKind = Literal["invalid_input", "engine_error"]


class Envelope(BaseModel, Generic[DataT]):
    """Every immediate answer: ``code`` "0000" and ``data`` on success, another code and null data on error."""

    code: str = SUCCESS
    msg: str = "success"
    data: DataT | None = None
    success: bool = True
    failed: bool = False

    @classmethod
    def ok(cls, data: Any) -> Envelope[Any]:
        return Envelope[Any](data=data)

    @classmethod
    def error(cls, code: str, msg: str) -> Envelope[Any]:
        return Envelope[Any](code=code, msg=msg, data=None, success=False, failed=True)


class PersonRef(BaseModel):
    """A person to look for and, unless a file part brings the photo, its reference image URL.
    Extension: a name with neither is the person enrolled under that name (``/v1/people``)."""

    name: PersonName = Field(description="Person's name or identifier.")
    url: str | None = Field(
        None,
        description="Reference image URL (if no file is uploaded for this person). Extension: without a url or a "
        "file, the person enrolled under this name in the key's gallery (/v1/people).",
    )


class CaptionRequest(BaseModel):
    """What every caption request holds; also the ``req`` part of the multipart image form."""

    model_config = ConfigDict(extra="ignore")

    user_prompt: str = Field(min_length=1, max_length=4000, description="The question about the media.")
    system_prompt: str | None = Field(
        None,
        max_length=4000,
        description="Instructions for the caption model (REID_CAPTION_MODEL); the template caption ignores it.",
    )
    callback: str | None = Field(None, description="URL that receives the result as a POST.")
    thinking: bool = Field(
        False,
        description="Let the caption model reason before it answers, where its provider supports it "
        "(REID_CAPTION_THINKING); no effect on the template caption.",
    )
    qa: bool = Field(False, description="Accepted for compatibility; no effect here.")
    reasoning_effort: str | None = Field(
        None,
        max_length=40,
        description="The caption model's reasoning effort (low, medium, high) when thinking is on and its "
        "provider takes one; no effect on the template caption.",
    )
    persons: list[PersonRef] = Field(
        default_factory=list,
        max_length=50,
        description=f"Persons to look for, at most {MAX_PERSONS} distinct names; repeat a name for more photos.",
    )
    options: AnalysisOptions | None = Field(
        None,
        description="Extension: engine options (tolerance, sample_fps, detector, descriptor, gap_s); "
        "service defaults if absent.",
    )
    everyone_enrolled: bool = Field(
        False, description="Extension: also search for everyone enrolled in the key's gallery (/v1/people)."
    )

    @field_validator("persons")
    @classmethod
    def _at_most_five_names(cls, persons: list[PersonRef]) -> list[PersonRef]:
        distinct = {p.name.casefold() for p in persons}
        if len(distinct) > MAX_PERSONS:
            raise ValueError(
                f"{len(distinct)} persons were given; at most {MAX_PERSONS} can be searched for at once. "
                "Split the request."
            )
        return persons


class VideoRequest(CaptionRequest):
    """``POST /v1/understand/upload``: a video by URL; the result goes to ``callback``."""

    model_config = ConfigDict(json_schema_extra={"examples": [SPEC_VIDEO_REQUEST]})

    video_url: str = Field(min_length=1, description="http(s) URL of the video.")
    system_prompt: str = Field(
        max_length=4000, description="Required by the hosted API; instructions for the caption model, if configured."
    )


class ImageRequest(CaptionRequest):
    """The JSON form of ``POST /v1/understand/uploadImg``: an image by URL."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                SPEC_IMAGE_REQ
                | {
                    "url": "https://example.com/test_image.png",
                    "persons": [{"name": "Alice", "url": "https://example.com/alice.jpg"}],
                }
            ]
        }
    )

    url: str | None = Field(None, description="http(s) URL of the image.")
    urls: list[str] | None = Field(None, description="Image URLs; this service analyses one image per request.")

    @model_validator(mode="after")
    def _one_image(self) -> ImageRequest:
        given = ([self.url] if self.url else []) + list(self.urls or [])
        if len(given) != 1:
            raise ValueError(
                f"url: give exactly one image URL in `url` (or a one-item `urls`); {len(given)} were given."
            )
        return self

    def image_url(self) -> str:
        return self.url or (self.urls or [""])[0]


Token = TokenUsage
"""``data.token``: the caption model's real usage, zeros when the template wrote the caption."""


class ResultData(BaseModel):
    """``data`` of a result: the documented ``text`` and ``token``, plus the structured fields
    of `ReIDResult` on success, or ``error`` (its kind) on failure."""

    model_config = ConfigDict(extra="allow")

    text: str
    token: Token = Field(default_factory=Token)
    error: ErrorKind | None = Field(None, description="Extension, failures only: invalid_input or engine_error.")


class ResultWithTokens(ReIDResult):
    """``data`` of a successful result: the documented ``text`` and ``token`` (real counts when a
    language model wrote the caption, zeros with the template), with every other `ReIDResult`
    field beside them, ``caption`` saying who wrote the text."""


def result_data(result: ReIDResult) -> dict[str, Any]:
    """The ``data`` of a successful result: every `ReIDResult` field, ``text`` and ``token``
    (the caption model's usage) among them."""
    return result.model_dump(mode="json")


def failure_data(message: str, kind: ErrorKind) -> dict[str, Any]:
    """The ``data`` of a failed task: the user-facing reason as ``text``."""
    return {"text": message, "token": Token().model_dump(), "error": kind}


class CallbackPayload(BaseModel):
    """What is POSTed to ``callback`` when a task ends (status 0 success, -1 failure)."""

    model_config = ConfigDict(json_schema_extra={"examples": [SPEC_CALLBACK]})

    status: Literal[0, -1]
    task_id: str
    data: ResultData


class TaskAccepted(BaseModel):
    task_id: str


class CallbackDelivery(BaseModel):
    """How delivering a task's callback went."""

    state: Literal["pending", "delivered", "failed"]
    attempts: int
    delivered_at: datetime | None = None
    last_error: str | None = None


class TaskStatus(BaseModel):
    """Extension: a task as ``GET /v1/understand/tasks/{task_id}`` shows it."""

    task_id: str
    state: TaskState
    progress: float = Field(ge=0.0, le=1.0, description="Fraction done.")
    created_at: datetime
    finished_at: datetime | None = None
    result: dict[str, Any] | None = Field(None, description="When done: the same data as the callback's.")
    error: str | None = Field(None, description="When failed: why, for the user.")
    error_kind: ErrorKind | None = None
    callback: CallbackDelivery | None = None

    def as_payload(self) -> dict[str, Any]:
        """The callback payload this finished task sends (or sent), as JSON-ready data."""
        if self.state == "done" and self.result is not None:
            return {"status": 0, "task_id": self.task_id, "data": self.result}
        if self.state == "failed":
            data = failure_data(self.error or "The task failed.", self.error_kind or "engine_error")
            return {"status": -1, "task_id": self.task_id, "data": data}
        raise ValueError(f"Task {self.task_id} is {self.state}; it has no result yet.")
