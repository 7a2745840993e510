"""``reid bot``: the Slack bot's command of the ``reid`` CLI, added through the ``reid.commands``
entry point (`tools.reid.cli.COMMANDS`), so that the CLI knows nothing of the bot."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from tools.reid.errors import InvalidInput
from tools.reid.extras import require
from tools.reid.settings import get_settings


def register(commands: argparse._SubParsersAction[Any], formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``reid bot`` to the CLI's subcommands."""
    bot = commands.add_parser("bot", help="run the Slack bot", formatter_class=formatter)
    bot.add_argument("--host", default="0.0.0.0", help="address to listen on for Slack's HTTP requests")
    bot.add_argument("--port", type=int, default=3000, help="port to listen on for Slack's HTTP requests")
    bot.add_argument("--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)")
    bot.add_argument(
        "--caption-model",
        metavar="PROVIDER:MODEL",
        help="a chat model writes the answers' captions, e.g. openai:gpt-4o-mini (default: REID_CAPTION_MODEL)",
    )
    bot.set_defaults(command=run)


def run(args: argparse.Namespace) -> int:
    """Serve the bot until it is stopped.

    Raises:
        InvalidInput: the bot is not configured, or cannot start with this configuration.
    """
    require("slack", "slack_bolt", "slack_sdk", "aiohttp", "fastapi", "uvicorn")
    from bot.reid.server import run_socket_mode, serve_http
    from bot.reid.settings import BotSettings
    from tools.reid.facade import ReIDTool

    try:
        settings = BotSettings()
    except ValidationError as exc:
        missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise InvalidInput(f"the bot is not configured: set {missing} (see the README's Slack section).") from exc
    try:
        reid = get_settings().with_caption_model(args.caption_model)
    except ValueError as exc:
        raise InvalidInput(f"--caption-model: {exc}") from None
    tool = ReIDTool(reid)
    try:
        if args.socket:
            run_socket_mode(settings, tool)
        else:
            serve_http(args.host, args.port, settings, tool)
    except ValueError as exc:
        raise InvalidInput(f"the bot cannot start: {exc}") from exc
    return 0
