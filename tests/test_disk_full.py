"""A full disk (issue 22, item 7): the service, its database and its temp folder on a real 16 MiB
tmpfs filled to the last byte, answers every request with the out-of-disk envelope (HTTP 503,
``Retry-After``), logs no traceback, keeps running, and takes requests again once space returns.
Mounting needs root: elsewhere the test is skipped, saying so."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from loopback import (
    API_KEY,
    CallbackReceiver,
    Footage,
    ServiceProcess,
    envelope,
    service_settings,
    settings_env,
    wait_until,
)

pytest_plugins = ["service_fixtures"]

MiB = 2**20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(
            f"a small disk needs a tmpfs mount, which failed here (root only): {mounted.stderr.decode().strip()}"
        )
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path) -> Path:
    """Write a file until the disk refuses another byte."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (MiB, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_is_said_and_survived(small_disk: Path, footage: Footage, receiver: CallbackReceiver) -> None:
    (small_disk / "tmp").mkdir()
    env = settings_env(service_settings(small_disk)) | {"TMPDIR": str(small_disk / "tmp")}
    service = ServiceProcess(env)
    try:
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            video = {
                "video_url": footage.url("alice_then_bob.mp4"),
                "user_prompt": "?",
                "system_prompt": "-",
                "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}],
            }
            image = {
                "url": footage.url("test_image.png"),
                "user_prompt": "?",
                "callback": receiver.url,
                "persons": video["persons"],
            }
            form = [
                (
                    "req",
                    (
                        "req.json",
                        json.dumps({"user_prompt": "?", "callback": receiver.url}).encode(),
                        "application/json",
                    ),
                ),
                ("file", ("scene.png", footage.path("test_image.png").read_bytes(), "image/png")),
                ("file", ("alice.png", footage.path("alice.png").read_bytes(), "image/png")),
            ]
            filler = _fill(small_disk)
            answers = [api.post("/v1/understand/upload", json=video) for _ in range(4)]
            answers += [api.post("/v1/understand/uploadImg", json=image) for _ in range(2)]
            answers += [api.post("/v1/understand/uploadImg", files=form) for _ in range(2)]
            for answer in answers:
                assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
                body = answer.json()
                assert body["code"] == "0503" and body["msg"].startswith("The service is out of disk"), body
            assert httpx.get(f"{service.base_url}/healthz").json() == {"status": "ok"}

            filler.unlink()
            task_id = envelope(api.post("/v1/understand/upload", json=video))["data"]["task_id"]
            wait_until(
                lambda: envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]["state"] == "done", 60, "the task"
            )
            assert envelope(api.post("/v1/understand/uploadImg", files=form))["code"] == "0000"
            receiver.wait_for(1)
    finally:
        service.close()
    log = "".join(service.log)
    assert "Traceback" not in log, log
    assert log.count("out of disk") >= len(answers)
