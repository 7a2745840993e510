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


SIGNATURE_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification")


class _NoRequestBodies(logging.Filter):
    """Bolt logs the whole body of a request whose signature fails (a private file URL, a
    message's text), e.g. every event delivered with a clock skew of over 5 minutes. The
    fact is worth a line; the body never is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "body:" in record.getMessage():
            record.msg, record.args = "Invalid request signature detected (body not logged)", ()
        return True


def keep_request_bodies_out_of_logs() -> None:
    """Install the filter on Bolt's request-verification loggers (once)."""
    for name in SIGNATURE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoRequestBodies) for f in logger.filters):
            logger.addFilter(_NoRequestBodies())
