"""``reid bot`` as a real process for the front-door and crash tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from bot_fixtures import SIGNING_SECRET
from fakes.slack import FakeSlack, sign_request
from loopback import ROOT, wait_until


class BotServer:
    """``reid bot`` in HTTP mode on a free loopback port, its database and work folder in
    ``folder``, with more ``REID_*`` settings from ``env``."""

    def __init__(self, fake: FakeSlack, folder: Path, **env: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.env = os.environ | {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "REID_BOT_DB_PATH": str(folder / "bot.reid.db"),
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.reid.cli", "bot", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(self.healthy, 60, "the bot to listen")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def peak_rss(self) -> int:
        """The process's peak resident memory so far (VmHWM), in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1]) * 1024

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def deliver(self, payload: dict[str, Any]) -> None:
        """An event, signed as Slack signs it."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **sign_request(SIGNING_SECRET, body)}
        assert httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10).status_code == 200

    def close(self) -> str:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=30)
        return stderr
