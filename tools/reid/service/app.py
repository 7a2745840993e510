"""The HTTP service: `create_app` builds it, `serve` runs it with uvicorn."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from pydantic.json_schema import models_json_schema
from starlette.types import Scope

from tools.reid.errors import InvalidInput
from tools.reid.facade import stop_engine_workers
from tools.reid.remote.wire import CaptionRequest, ImageRequest
from tools.reid.service import people
from tools.reid.service.auth import ApiKeyMiddleware
from tools.reid.service.body_limit import BodyLimitMiddleware, header
from tools.reid.service.callbacks import CallbackSender
from tools.reid.service.errors import install_error_handlers
from tools.reid.service.routes import router
from tools.reid.service.runner import TaskRunner
from tools.reid.service.slow_clients import HeadDeadlineProtocol
from tools.reid.service.spool import Spool
from tools.reid.service.store import TaskStore, task_ref
from tools.reid.service.tenants import ApiKeys
from tools.reid.settings import ReIDSettings
from tools.reid.workdir import ProcessFolder

DESCRIPTION = """\
A self-hosted service compatible with the memories.ai Human Re-identification API
(`/v1/understand/upload` for videos by URL, `/v1/understand/uploadImg` for images).

* **Auth**: `Authorization: <key>` (or `Bearer <key>`), checked against `REID_API_KEYS`;
  the Authorize button sets it for the examples below. Each key belongs to a tenant, and a
  task to the tenant that made it: another tenant's task id is answered as an unknown one.
* **Envelope**: every answer is HTTP 200 with `{"code", "msg", "data", "success", "failed"}`;
  `0000` success, `0001` a bad or missing parameter (the message names it; also an unknown
  `task_id`), `0401` a bad key, `0429` the task queue is full (retry after `Retry-After`
  seconds). Unknown routes are plain HTTP 404.
* **Results** keep the documented `text` and `token` and add the structured fields (persons
  found, confidence, appearance intervals in seconds, keyframe time and box) beside them.
  By default the caption is written from the findings alone, without a language model, and
  `token` counts are zeros. With `REID_CAPTION_MODEL` a language model writes it from the
  request's `system_prompt` and `user_prompt`, the findings and (if it takes images) the
  keyframes and sampled frames; its text is checked against the findings, `token` holds its
  real usage, and `caption` says which writer wrote the text and why (`template` replaces a
  caption that failed the check, or a model that was unreachable, slow or refused).
  `thinking` and `reasoning_effort` reach models that support them; `qa` has no effect.
* **Extensions**: `GET /v1/understand/tasks/{task_id}` for clients that cannot receive
  callbacks; an HMAC signature on callbacks when `REID_CALLBACK_SECRET` is set; an optional
  `options` object with engine settings; `GET /healthz`.
* **Gallery** (extension): enrol people once per key's tenant (`POST /v1/people`), then name
  them in `persons` without a `url` or file, or set `everyone_enrolled`; `GET /v1/people`,
  `GET|DELETE /v1/people/{name}`, and the tenant's audit log at `GET /v1/audit`.
"""

TAGS = [
    {
        "name": "hosted API",
        "description": "The Video and Image Caption endpoints with Human Re-identification (`persons`), "
        "as the hosted memories.ai service answers them.",
    },
    {"name": "extensions", "description": "Ours, not the hosted API's."},
    {
        "name": "gallery (extension)",
        "description": "People enrolled once per tenant and searched by name; removal and the audit log.",
    },
]


def create_app(settings: ReIDSettings) -> FastAPI:
    """The service over the task database at ``settings.db_path``; tasks resume when it starts.
    Its downloads go to its own work folder beside the database (``reid.db.work/<process>``),
    and the folders of services that died are deleted."""
    keys = ApiKeys.parse(settings.api_keys.get_secret_value())
    store = TaskStore(settings.db_path)
    sender = CallbackSender(settings, store)
    work = ProcessFolder(settings.db_path.with_name(settings.db_path.name + ".work"))
    runner = TaskRunner(settings, store, Spool.beside_db(settings), sender, work.path)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        yield
        runner.stop()
        stop_engine_workers()  # a task in flight fails under it; runner.stop() left it queued
        sender.close()
        work.close()

    # FastAPIOffline serves Swagger UI and ReDoc from files inside its wheel: /docs works air-gapped.
    # Without a validatorUrl Swagger UI would show a badge fetched from swagger.io, sending it our spec's URL.
    app = FastAPIOffline(
        title="ReID service",
        version="1",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        swagger_ui_parameters={"validatorUrl": None},
        lifespan=lifespan,
    )
    app.state.runner = runner
    app.state.api_keys = keys
    app.add_middleware(BodyLimitMiddleware, cap=partial(body_cap, settings), timeout_s=settings.body_timeout_s)
    # Added last, so it runs first: a request without a valid key is answered before its body is read.
    app.add_middleware(ApiKeyMiddleware, keys=keys)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(people.router)
    app.add_api_route("/healthz", _healthz, methods=["GET"], summary="Extension: liveness", tags=["extensions"])
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


UPLOAD_ROUTES = frozenset({"/v1/understand/uploadImg", "/v1/people"})
"""The routes that take files (multipart): up to ``REID_MAX_BODY_BYTES``. Every other body is
JSON, up to ``REID_MAX_JSON_BYTES``, so a large JSON body is refused before it is parsed (a
parsed JSON document costs many times its size in memory)."""


def body_cap(settings: ReIDSettings, scope: Scope) -> int:
    """The body limit of one request: by route and content type."""
    if scope["path"] in UPLOAD_ROUTES and header(scope, b"content-type").startswith("multipart/form-data"):
        return settings.max_body_bytes
    return settings.max_json_bytes


async def _healthz(request: Request) -> dict[str, Any]:
    """``ok``; with a cluster, ``degraded`` while it cannot be used (tasks wait, queued), and
    the cluster's address, workers or problem."""
    gate = request.app.state.runner.cluster
    if gate is None:
        return {"status": "ok"}
    cluster = await asyncio.to_thread(gate.health)
    return {"status": "ok" if cluster["usable"] else "degraded", "cluster": cluster}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request models the image endpoint parses by hand, minus the
    422 answers FastAPI documents by default: ours are 0001 envelopes."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        _drop_422(schema["paths"])
        _, extra = models_json_schema(
            [(ImageRequest, "validation"), (CaptionRequest, "validation")],
            ref_template="#/components/schemas/{model}",
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(extra["$defs"])
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _drop_422(node: Any) -> None:
    """Remove every documented 422 answer, in operations and in their callbacks."""
    if isinstance(node, dict):
        node.get("responses", {}).pop("422", None)
        for child in node.values():
            _drop_422(child)


def serve(host: str, port: int, settings: ReIDSettings) -> None:
    """Run the service until interrupted.

    Raises:
        InvalidInput: no API key is configured and ``host`` is not a loopback address, or
            ``REID_API_KEYS`` cannot be read.
    """
    if ApiKeys.parse(settings.api_keys.get_secret_value()).open and not _is_loopback(host):
        raise InvalidInput(
            f"Refusing to listen on {host} without an API key: anyone who can reach it could use it. "
            "Set REID_API_KEYS=<name>=<key>[,<name>=<key>...] or listen on 127.0.0.1."
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.Server(server_config(create_app(settings), host, port, settings)).run()


TASK_PATH = re.compile(r"(/v1/understand/tasks/)([^/?#\s]+)")


class _NoTaskIds(logging.Filter):
    """uvicorn's access log prints each request's path beside the client's address, and the task
    routes' paths hold the task id: the id becomes its log reference (`task_ref`) instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TASK_PATH.sub(lambda m: m.group(1) + task_ref(m.group(2)), arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def server_config(app: FastAPI, host: str, port: int, settings: ReIDSettings) -> uvicorn.Config:
    """uvicorn's settings for the service: slow or idle clients are cut off (a deadline on the
    request head here, on the body in `BodyLimitMiddleware`); a shutdown waits a bounded time
    for requests in flight; task ids are kept out of the access log."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoTaskIds) for f in access.filters):
        access.addFilter(_NoTaskIds())
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        http=partial(HeadDeadlineProtocol, header_timeout_s=settings.header_timeout_s),  # type: ignore[arg-type]
        timeout_keep_alive=max(1, round(settings.keep_alive_s)),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
