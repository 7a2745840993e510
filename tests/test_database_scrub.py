"""What the database forgets stays forgotten (issue 22, item 5): after a task ends, its signed
URLs are in none of the database's files (the file, its -wal and -shm), and after the retention
purges (the tasks', and the audit's, which names whom was searched for) neither are the names,
the prompt nor the upload's file name. Read from the bytes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
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

PHOTO_TOKEN = "photo-token-5f1c9a"
VIDEO_TOKEN = "video-signature-8d2e4b"
CALLBACK_TOKEN = "callback-token-3a7c1e"
NAME = "Zelda Quintessa"
PROMPT = "prompt-marker-9b4d2f"
UPLOAD_NAME = "upload-marker-6e8a1c.png"


def _database_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob("reid.db*")) if path.is_file())


def _submit(api: httpx.Client, footage: Footage, receiver: CallbackReceiver) -> list[str]:
    video = {
        "video_url": footage.url(f"alice_then_bob.mp4?sig={VIDEO_TOKEN}"),
        "user_prompt": PROMPT,
        "system_prompt": "-",
        "callback": f"{receiver.url}?token={CALLBACK_TOKEN}",
        "persons": [{"name": NAME, "url": footage.url(f"alice.jpg?token={PHOTO_TOKEN}")}],
    }
    req = {"user_prompt": PROMPT, "callback": f"{receiver.url}?token={CALLBACK_TOKEN}", "persons": [{"name": NAME}]}
    files = [
        ("req", ("req.json", json.dumps(req).encode(), "application/json")),
        ("file", (UPLOAD_NAME, footage.path("test_image.png").read_bytes(), "image/png")),
        ("file", ("ref.png", footage.path("alice.png").read_bytes(), "image/png")),
    ]
    return [
        envelope(api.post("/v1/understand/upload", json=video))["data"]["task_id"],
        envelope(api.post("/v1/understand/uploadImg", files=files))["data"]["task_id"],
    ]


def test_ended_and_purged_tasks_leave_no_trace_in_the_database_files(
    tmp_path: Path, footage: Footage, receiver: CallbackReceiver
) -> None:
    settings = service_settings(tmp_path)
    service = ServiceProcess(settings_env(settings))
    try:
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            tasks = _submit(api, footage, receiver)
            receiver.wait_for(2)
            wait_until(
                lambda: all(
                    envelope(api.get(f"/v1/understand/tasks/{t}"))["data"]["callback"]["state"] == "delivered"
                    for t in tasks
                ),
                30,
                "both deliveries to be recorded",
            )
        stored = _database_bytes(tmp_path)
        assert NAME.encode() in stored, "the results are kept until the retention time"
        for secret in (PHOTO_TOKEN, VIDEO_TOKEN, CALLBACK_TOKEN):
            assert secret.encode() not in stored, f"{secret} outlived its task"
        service.stop(signal.SIGTERM)
    finally:
        service.close()

    retention = {"REID_RETENTION_HOURS": "0", "REID_AUDIT_RETENTION_DAYS": "0"}  # the audit names whom, too
    purging = ServiceProcess(settings_env(settings) | retention)
    try:
        with httpx.Client(base_url=purging.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            wait_until(
                lambda: all(envelope(api.get(f"/v1/understand/tasks/{t}"))["code"] == "0001" for t in tasks),
                30,
                "the purge",
            )
        stored = _database_bytes(tmp_path)
        for trace in (NAME, PROMPT, UPLOAD_NAME, "upload-marker", PHOTO_TOKEN, VIDEO_TOKEN, CALLBACK_TOKEN, *tasks):
            assert trace.encode() not in stored, f"{trace} is still in the database's files after the purge"
    finally:
        purging.close()
