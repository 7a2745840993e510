"""Downloading a user's Slack files with the bot token, checked before they are trusted.

Slack answers a download without a valid token with HTTP 200 and an HTML sign-in page, so the
status code proves nothing: the declared size is checked before the download, the running size
while it streams, and the first bytes (`sniff_kind`) before the file is handed to the engine.
Messages name the file, never its private URL.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Literal

import httpx

from bot.reid.submission import SlackFile
from tools.reid.errors import FetchError
from tools.reid.fetch.sniff import SNIFF_BYTES, sniff_kind
from tools.reid.wording import byte_size
from tools.reid.workdir import private_file

log = logging.getLogger(__name__)

Expect = Literal["media", "image"]


async def download(
    http: httpx.AsyncClient,
    file: SlackFile,
    dest: Path,
    *,
    token: str,
    max_bytes: int,
    timeout_s: float,
    expect: Expect,
) -> Path:
    """Stream ``file`` to ``dest`` (removed again on any failure) and return ``dest``.

    Args:
        http: a client that follows redirects (Slack redirects to its file hosts).
        token: the bot token; sent only to Slack's own URL from the file object.
        max_bytes: refused above this, before the download when Slack declares the size.
        timeout_s: one deadline for the whole download.
        expect: "image" for reference photos, "media" (video or image) for footage.

    Raises:
        FetchError: no URL, too large, Slack refused or sent a web page, or the wrong kind of file.
    """
    if file.url is None:
        raise FetchError(f"Slack gave me no download link for {file.name}. Upload it again and ask again.")
    if file.size is not None and file.size > max_bytes:
        raise FetchError(f"{file.name} is {byte_size(file.size)}, over the {byte_size(max_bytes)} limit.")
    log.info("downloading Slack file %s (%s bytes)", file.id, file.size)
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await _stream(http, file.url, file, dest, token=token, max_bytes=max_bytes, expect=expect)
        except TimeoutError:
            raise FetchError(
                f"Downloading {file.name} from Slack took longer than {timeout_s:g} s. Try again."
            ) from None
        except httpx.TransportError as exc:
            raise FetchError(f"I could not download {file.name} from Slack ({type(exc).__name__}). Try again.") from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


async def _stream(
    http: httpx.AsyncClient, url: str, file: SlackFile, dest: Path, *, token: str, max_bytes: int, expect: Expect
) -> None:
    async with http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
        if not response.is_success:
            raise FetchError(f"Slack refused to send {file.name} (HTTP {response.status_code}). Upload it again.")
        received, head = 0, b""
        with private_file(dest) as out:
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise FetchError(f"{file.name} is larger than the {byte_size(max_bytes)} limit.")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) == SNIFF_BYTES:
                        _check_kind(file, head, expect)
                out.write(chunk)
    if received == 0:
        raise FetchError(f"Slack sent {file.name} empty. Upload it again.")
    if len(head) < SNIFF_BYTES:
        _check_kind(file, head, expect)


def _check_kind(file: SlackFile, head: bytes, expect: Expect) -> None:
    kind = sniff_kind(head)
    if kind == "html":
        # Slack's answer to a missing or revoked token: the user cannot fix it, the admin can.
        raise FetchError(
            f"Slack sent a sign-in page instead of {file.name}: the bot's token was not accepted. "
            "Ask the bot's admin to check SLACK_BOT_TOKEN and the files:read scope."
        )
    if expect == "image" and kind == "video":
        raise FetchError(f"{file.name} is a video; a reference must be a photo of the person's face.")
