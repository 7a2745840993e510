# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""SIGTERM and SIGINT (issue 10, item 3): `reid analyze`, `reid serve` and `reid bot`, each a real
process busy with a video on two cores (its calling thread and a helper), stop cleanly when
signalled: no process is left behind, and accepted work stays resumable."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import SIGNING_SECRET, Media, mention_payload
from fakes.slack import BOT_USER_ID, FakeSlack, sign_request
from loopback import API_KEY, ROOT, Footage, ServiceProcess, envelope, service_settings, settings_env, wait_until
from processes import assert_all_gone, busy_descendants

pytest_plugins = ["service_fixtures", "bot_fixtures"]

SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


@pytest.mark.parametrize("name", SIGNALS)
def test_analyze_stops_with_its_workers(long_clip: Path, photos: dict[str, Path], name: str) -> None:
    process = subprocess.Popen(
        # 10 samples a second: the minute takes a few seconds, so the signal comes while it runs.
        [sys.executable, "-m", "tools.reid.cli", "analyze", str(long_clip), "-p", f"Eileen={photos['eileen']}"]
        + ["--sample-fps", "10"],
        cwd=ROOT,
        env=os.environ | {"REID_WORKERS": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        descendants = busy_descendants(process.pid)
        process.send_signal(SIGNALS[name])
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + SIGNALS[name], stderr
    assert stderr.strip().endswith("reid: stopped."), stderr
    assert "Traceback" not in stderr
    assert_all_gone(descendants)


@pytest.mark.parametrize("name", SIGNALS)
def test_serve_stops_with_its_workers_and_resumes_the_task(
    tmp_path: Path, footage: Footage, long_clip: Path, name: str
) -> None:
    footage.path("minute.mp4").write_bytes(long_clip.read_bytes())
    env = settings_env(service_settings(tmp_path, workers=2, max_concurrent_tasks=1))
    service = ServiceProcess(env)
    try:
        body = {
            "video_url": footage.url("minute.mp4"),
            "user_prompt": "?",
            "system_prompt": "-",
            "persons": [{"name": "Eileen", "url": footage.url("alice.jpg")}],
        }
        headers = {"Authorization": API_KEY}
        answer = envelope(httpx.post(f"{service.base_url}/v1/understand/upload", json=body, headers=headers))
        task_id = answer["data"]["task_id"]
        descendants = busy_descendants(service.pid)
        service.stop(SIGNALS[name])
        assert_all_gone(descendants)
    finally:
        service.close()
    with sqlite3.connect(tmp_path / "reid.db") as db:
        state, crashes = db.execute("SELECT state, crashes FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
    assert (state, crashes) == ("queued", 0), "a stopped task waits, unblamed, for the next start"

    again = ServiceProcess(env)
    try:
        with httpx.Client(base_url=again.base_url, headers=headers, timeout=30) as api:

            def ended() -> dict | None:
                task = envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]
                return task if task["state"] in ("done", "failed") else None

            task = wait_until(ended, 180, "the resumed task to end")
        assert task["state"] == "done" and task["result"]["persons"][0]["found"]
    finally:
        again.close()


@dataclass
class BotProcess:
    """``reid bot`` against the Slack fake, in HTTP mode on a free loopback port or in Socket Mode."""

    process: subprocess.Popen[str]
    deliver: Callable[[dict[str, Any]], None]


@pytest.fixture(params=["http", "socket"])
def bot_process(request: pytest.FixtureRequest, fake: FakeSlack, tmp_path: Path) -> Iterator[BotProcess]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": fake.app_token,
        "SLACK_API_URL": fake.base_url,
        "REID_BOT_DB_PATH": str(tmp_path / "bot.reid.db"),
        "REID_BOT_WORK_DIR": str(tmp_path / "work"),
        "REID_WORKERS": "2",
    }
    mode = ["--socket"] if request.param == "socket" else ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.reid.cli", "bot", *mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        if request.param == "socket":
            return fake.socket_connections > 0
        try:
            return httpx.get(f"{url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def deliver(payload: dict[str, Any]) -> None:
        if request.param == "socket":
            fake.wait_for_ack(fake.socket_send("events_api", payload))
            return
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **sign_request(SIGNING_SECRET, body)}
        assert httpx.post(f"{url}/slack/events", content=body, headers=headers).status_code == 200

    try:
        wait_until(listening, 60, "the bot to listen")
        yield BotProcess(process, deliver)
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize("name", SIGNALS)
def test_bot_stops_with_its_workers_and_keeps_the_request(
    fake: FakeSlack, bot_process: BotProcess, long_clip: Path, media: Media, tmp_path: Path, name: str
) -> None:
    process = bot_process.process
    files = [
        fake.add_file("minute.mp4", long_clip.read_bytes(), "video/mp4", "mp4"),
        fake.add_file("eileen.png", media.alice_png, "image/png", "png"),
    ]
    bot_process.deliver(mention_payload(fake, f"<@{BOT_USER_ID}> is she here?", files))
    descendants = busy_descendants(process.pid)
    process.send_signal(SIGNALS[name])
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr
    assert_all_gone(descendants)
    with sqlite3.connect(tmp_path / "bot.reid.db") as db:
        (state,) = db.execute("SELECT state FROM requests").fetchone()
    assert state == "running", "the request resumes at the next start"
    assert "x" not in [call.params["name"] for call in fake.calls_to("reactions.add")]
