"""The endpoints: the two of the hosted API, and the task endpoint we add for polling."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from tools.reid.facade import ReIDTool
from tools.reid.remote.errors import BadRequest
from tools.reid.remote.wire import (
    SPEC_IMAGE_REQ,
    CallbackPayload,
    CaptionRequest,
    Envelope,
    ImageRequest,
    ResultWithTokens,
    TaskAccepted,
    TaskStatus,
    VideoRequest,
)
from tools.reid.schemas import ReIDRequest, ReIDResult
from tools.reid.service import intake
from tools.reid.service.auth import Tenant, authenticated_tenant
from tools.reid.service.errors import envelope_error
from tools.reid.service.runner import TaskRunner, new_task_id
from tools.reid.service.store import Reply, Task

TaskId = Annotated[str, Path(min_length=1, max_length=64)]


def _runner(request: Request) -> TaskRunner:
    return request.app.state.runner


Runner = Annotated[TaskRunner, Depends(_runner)]

router = APIRouter(dependencies=[Depends(authenticated_tenant)])


def _result_delivered(body: CallbackPayload) -> None:
    """Sent when the task ends: ``status`` 0 with the result in ``data``, or -1 with the reason in
    ``data.text``. Any 2xx answer acknowledges it; otherwise it is retried with exponential
    backoff (``REID_CALLBACK_ATTEMPTS``, ``REID_CALLBACK_BACKOFF_S``).

    Delivered at least once: after a crash a callback may come again. ``Idempotency-Key`` (the
    task id, the same on every attempt) tells repeats apart; ``X-ReID-Attempt`` numbers them.

    Extension: with ``REID_CALLBACK_SECRET`` set, ``X-ReID-Timestamp`` (unix seconds) and
    ``X-ReID-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`` sign it
    (``tools.reid.remote.signing.verify_callback`` checks them).
    """


def _callback_docs(endpoint: str) -> list[BaseRoute]:
    """The OpenAPI description of the callback an endpoint sends (documentation only)."""
    docs = APIRouter()
    docs.add_api_route(
        "{$request.body.callback}",
        _result_delivered,
        methods=["POST"],
        operation_id=f"{endpoint}_callback",
        summary="The result, POSTed to your callback URL",
    )
    return docs.routes


@router.post(
    "/v1/understand/upload",
    response_model=Envelope[TaskAccepted],
    callbacks=_callback_docs("upload"),
    summary="Find persons in a video given by URL",
    tags=["hosted API"],
)
async def upload_video(body: VideoRequest, runner: Runner, tenant: Tenant) -> Envelope[Any]:
    """Answers at once with ``data.task_id``. The result is POSTed to ``callback``; without a
    callback (an extension) poll ``GET /v1/understand/tasks/{task_id}``."""
    request = await run_in_threadpool(intake.video_request, body, runner.settings)
    await run_in_threadpool(runner.check, tenant, request)
    task_id = new_task_id()
    reply: Reply = "callback" if body.callback else "poll"
    await run_in_threadpool(runner.accept, task_id, tenant, request, reply, body.callback)
    return Envelope.ok(TaskAccepted(task_id=task_id))


IMAGE_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["req", "file"],
                    "properties": {
                        "req": {
                            "type": "string",
                            "description": "JSON options, as CaptionRequest: user_prompt, system_prompt, "
                            "thinking, persons ({name} or {name, url}), callback.",
                            "examples": [json.dumps(SPEC_IMAGE_REQ)],
                        },
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "First the image to analyse, then reference photos. Reference "
                            "photo k shows the persons entry k when there is one, else the person named by "
                            "its file name without extension (alice.png -> alice).",
                        },
                    },
                }
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/ImageRequest"}},
        },
    }
}


@router.post(
    "/v1/understand/uploadImg",
    openapi_extra=IMAGE_REQUEST_BODY,
    response_model=Envelope[ResultWithTokens | TaskAccepted],
    callbacks=_callback_docs("uploadImg"),
    summary="Find persons in an image (multipart upload or JSON with a URL)",
    tags=["hosted API"],
)
async def upload_image(http: Request, runner: Runner, tenant: Tenant) -> JSONResponse:
    """Without ``callback`` the result is the answer's ``data`` (``text``, ``token`` and the
    structured fields). With one, the answer holds ``data.task_id`` and the result is POSTed."""
    task_id = new_task_id()
    try:
        options, request = await _image_request(http, task_id, runner)
        await run_in_threadpool(runner.check, tenant, request)
        reply: Reply = "callback" if options.callback else "inline"
        finished = await run_in_threadpool(runner.accept, task_id, tenant, request, reply, options.callback)
    except BaseException:
        runner.spool.remove(task_id)
        raise
    if options.callback:
        return JSONResponse(Envelope.ok(TaskAccepted(task_id=task_id)).model_dump())
    return _inline_answer(await asyncio.wrap_future(finished))


async def _image_request(http: Request, task_id: str, runner: TaskRunner) -> tuple[CaptionRequest, ReIDRequest]:
    if http.headers.get("content-type", "").startswith("multipart/form-data"):
        return await intake.image_form_request(http, runner.spool.folder(task_id), runner.settings)
    body = intake.parse(ImageRequest, await http.body())
    return body, await run_in_threadpool(intake.image_json_request, body, runner.settings)


def _inline_answer(task: Task) -> JSONResponse:
    if task.state == "done":
        return JSONResponse(Envelope.ok(task.result).model_dump())
    if task.error_kind == "invalid_input":
        return envelope_error(BadRequest.code, task.error or "The request is invalid.")
    return JSONResponse({"detail": task.error}, status_code=500)


@router.get(
    "/v1/understand/tasks/{task_id}",
    response_model=Envelope[TaskStatus],
    summary="Extension: a task's state, progress and result",
    tags=["extensions"],
)
async def get_task(task_id: TaskId, runner: Runner, tenant: Tenant) -> Envelope[Any]:
    """For clients that cannot receive callbacks. ``state`` is queued, running, done (``result``
    holds the callback's data) or failed (``error`` says why). An unknown id answers code 0001
    ("unknown task_id"), and so does another tenant's task: a task is read only with a key of
    the tenant that made it. Finished tasks are deleted after ``REID_RETENTION_HOURS``."""
    return Envelope.ok((await _known_task(task_id, tenant, runner)).status())


@router.get(
    "/v1/understand/tasks/{task_id}/timeline.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The timeline picture."}},
    summary="Extension: the timeline picture of a finished video task",
    tags=["extensions"],
)
async def get_timeline(task_id: TaskId, runner: Runner, tenant: Tenant) -> Response:
    """A PNG, one row per person looked for, a bar where each is on screen, shaded where several
    are together. Drawn from the stored result, so it is there as long as the task is. An
    unknown id (or another tenant's), a task not done yet, or a photo's task (its picture is the annotated photo,
    which needs the photo this service does not keep) answers code 0001 saying which."""
    task = await _known_task(task_id, tenant, runner)
    if task.state != "done" or task.result is None:
        raise BadRequest(f"task {task_id!r} is {task.state}; its timeline exists once it is done.")
    result = ReIDResult.model_validate(task.result)
    if result.media.kind != "video":
        raise BadRequest(f"task {task_id!r} analysed a photo, which has no timeline.")
    return Response(await run_in_threadpool(ReIDTool.timeline_png, result), media_type="image/png")


async def _known_task(task_id: str, tenant: str, runner: TaskRunner) -> Task:
    """The tenant's task; another tenant's is answered exactly as an id nobody has."""
    task = await run_in_threadpool(runner.store.owned, task_id, tenant)
    if task is None:
        raise BadRequest(
            f"unknown task_id {task_id!r}: no task has this id here. Finished tasks are kept "
            f"for {runner.settings.retention_hours:g} hours."
        )
    return task
