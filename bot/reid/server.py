"""Serving the bot: HTTP mode (FastAPI + Bolt's request handler) or Socket Mode.

Routes of the HTTP app:

* ``POST /slack/events``: events, slash commands, shortcuts and modal submissions, verified by
  Bolt against ``SLACK_SIGNING_SECRET`` (401 when unsigned, badly signed or older than 5 minutes);
* ``POST /reid/callback/{token}``: the ReID service's result for a remote run (the token is
  per request and unguessable; the signature is checked when ``REID_CALLBACK_SECRET`` is set);
* ``GET /reid/media/{token}/{file}``: a remote run's downloaded Slack files, for the service to
  fetch, only while that request is open;
* ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from bot.reid import front_door
from bot.reid.app import ReIDBot
from bot.reid.settings import BotSettings
from tools.reid.facade import ReIDTool
from tools.reid.remote.signing import verify_callback


def create_app(settings: BotSettings, tool: ReIDTool | None = None) -> FastAPI:
    """The HTTP-mode app; the bot starts and stops with the app's lifespan.

    Raises:
        ValueError: ``SLACK_SIGNING_SECRET`` is missing (every request would be refused), or the
            remote backend is chosen without ``PUBLIC_URL``.
    """
    if settings.slack_signing_secret is None:
        raise ValueError(
            "HTTP mode needs SLACK_SIGNING_SECRET (the app's Basic Information page, App Credentials) "
            "to verify Slack's requests; or run `reid bot --socket` with SLACK_APP_TOKEN."
        )
    return http_app(ReIDBot(settings, tool))


def http_app(bot: ReIDBot, *, socket_mode: bool = False) -> FastAPI:
    """The FastAPI app over ``bot``; with ``socket_mode`` its lifespan also connects Socket Mode
    (for the remote backend, whose callbacks need the HTTP routes even then)."""
    slack = AsyncSlackRequestHandler(bot.bolt)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(bot, socket_mode=socket_mode):
            yield

    api = FastAPI(title="ReID Slack bot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api.state.bot = bot
    front_door.install(api, bot.tool.settings)
    bot.bolt.error(front_door.listener_error)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        try:
            (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            # Slack sends UTF-8; Bolt would fail decoding anything else with a 500 and a traceback.
            raise HTTPException(400, "The body is not UTF-8.") from None
        try:
            return await slack.handle(request)
        except front_door.MALFORMED as exc:  # Bolt could not read the body into a request
            return front_door.malformed_request(exc)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/reid/callback/{token}")
    async def reid_callback(token: str, request: Request) -> dict[str, bool]:
        body = await request.body()  # within front_door.CALLBACK_MAX_BYTES
        secret = bot.tool.settings.callback_secret
        # Checked before the token is claimed, so a forged call cannot use up a real one.
        if secret is not None and not verify_callback(secret.get_secret_value(), body, request.headers):
            raise HTTPException(401, "Bad or missing X-ReID-Signature.")
        payload = _json_object(body)
        stored = bot.store.claim_callback(token)
        if stored is None:
            raise HTTPException(404, "No open request has this callback token.")
        bot.worker.submit(partial(bot.runner.complete, stored, payload))
        return {"ok": True}

    @api.get("/reid/media/{token}/{name}")
    async def reid_media(token: str, name: str) -> FileResponse:
        stored = bot.store.by_media_token(token)
        path = bot.runner.staged_file(stored, name) if stored is not None else None
        if path is None:
            raise HTTPException(404, "No such file, or its request is over.")
        return FileResponse(path)

    return api


@asynccontextmanager
async def running(bot: ReIDBot, *, socket_mode: bool = False) -> AsyncIterator[ReIDBot]:
    """The bot started (and with ``socket_mode`` connected to Slack) for the duration of the block.

    Raises:
        ValueError: Socket Mode without ``SLACK_APP_TOKEN``.
    """
    handler = _socket_mode_handler(bot) if socket_mode else None
    await bot.start()
    try:
        if handler is not None:
            await handler.connect_async()
        yield bot
    finally:
        if handler is not None:
            await handler.close_async()
        await bot.stop()


def _socket_mode_handler(bot: ReIDBot) -> AsyncSocketModeHandler:
    return AsyncSocketModeHandler(bot.bolt, _app_token(bot.settings))


def _app_token(settings: BotSettings) -> str:
    if settings.slack_app_token is None:
        raise ValueError(
            "Socket Mode needs SLACK_APP_TOKEN: an app-level xapp- token with the connections:write scope."
        )
    return settings.slack_app_token.get_secret_value()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise HTTPException(400, "The callback body must be a JSON object.")
    return payload


def serve_http(host: str, port: int, settings: BotSettings, tool: ReIDTool | None = None) -> None:
    """``reid bot``: serve HTTP mode until interrupted, behind the front door's limits.
    ``tool`` as `ReIDBot` takes it."""
    _configure_logging()
    app = create_app(settings, tool)
    uvicorn.Server(front_door.server_config(app, host, port, app.state.bot.tool.settings)).run()


def run_socket_mode(settings: BotSettings, tool: ReIDTool | None = None) -> None:
    """``reid bot --socket``: connect over Socket Mode until interrupted. With the remote backend
    the HTTP routes are served too (on ``REID_BOT_HOST``:``REID_BOT_PORT``), for the service's
    callbacks and file fetches. ``tool`` as `ReIDBot` takes it."""
    _app_token(settings)
    _configure_logging()
    bot = ReIDBot(settings, tool)
    if bot.runner.by_callback:
        app = http_app(bot, socket_mode=True)
        uvicorn.Server(front_door.server_config(app, settings.http_host, settings.http_port, bot.tool.settings)).run()
    else:
        asyncio.run(_serve_forever(bot))


async def _serve_forever(bot: ReIDBot) -> None:
    """Until SIGTERM or SIGINT, which stop the bot cleanly (unfinished requests resume at the next start)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running(bot, socket_mode=True):
        await stop.wait()


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
