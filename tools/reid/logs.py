"""Keeping secrets out of logs."""

from __future__ import annotations

import logging

URL_LOGGERS = ("httpx", "httpcore")


def keep_urls_out_of_logs() -> None:
    """httpx and httpcore log every request's full URL at INFO: Slack's private file URLs, signed
    footage URLs with tokens in their query. Every surface builds a `ReIDTool`, which calls this,
    so no entry point can forget it; their warnings and errors still show."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
