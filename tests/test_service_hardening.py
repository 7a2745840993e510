"""The service under a hostile or unlucky world (issue 10): clear answers to malformed requests,
secrets that do not outlive their use, and private files."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import httpx
from loopback import CallbackReceiver, Footage, ServiceThread, envelope, wait_until

pytest_plugins = ["service_fixtures"]


def _video(footage: Footage, **changes: object) -> dict[str, object]:
    body = {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": "Find them.",
        "system_prompt": "-",
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}],
    }
    return body | changes


# --- Messages (item 7) ------------------------------------------------------------------------


def test_an_empty_body_names_the_missing_fields(api: httpx.Client) -> None:
    answer = envelope(api.post("/v1/understand/upload", content=b"", headers={"Content-Type": "application/json"}))
    assert answer["code"] == "0001"
    assert "body is empty" in answer["msg"] and "user_prompt, system_prompt, video_url are required" in answer["msg"]


def test_messages_end_with_one_period(api: httpx.Client, footage: Footage) -> None:
    persons = [{"name": f"P{n}", "url": footage.url("alice.jpg")} for n in range(6)]
    answer = envelope(api.post("/v1/understand/upload", json=_video(footage, persons=persons)))
    assert answer["msg"].endswith("Split the request.") and ".." not in answer["msg"]


def test_multipart_errors_name_the_uploaded_file(api: httpx.Client, footage: Footage) -> None:
    req = json.dumps({"user_prompt": "Who?", "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}]})
    files = [
        ("req", ("req.json", req, "application/json")),
        ("file", ("holiday.png", b"\x89PNG\r\n\x1a\n" + b"x" * 99)),
    ]
    answer = envelope(api.post("/v1/understand/uploadImg", files=files))
    assert answer["code"] == "0001" and "holiday.png" in answer["msg"], answer
    assert "00-image" not in answer["msg"]


def test_control_characters_in_names_are_neutralised(api: httpx.Client, footage: Footage) -> None:
    body = {
        "url": footage.url("test_image.png"),
        "user_prompt": "?",
        "persons": [{"name": "Al\x1b[31mice\nBob\x00", "url": footage.url("alice.jpg")}],
    }
    answer = envelope(api.post("/v1/understand/uploadImg", json=body))
    assert answer["code"] == "0000", answer
    (person,) = answer["data"]["persons"]
    assert person["name"] == "Al [31mice Bob"
    assert not any(ord(char) < 32 for char in answer["data"]["text"])


# --- Stored secrets (item 8) ------------------------------------------------------------------


def test_database_files_are_private(service: ServiceThread, api: httpx.Client) -> None:
    assert api.get("/healthz").status_code == 200
    db = service.settings.db_path
    for path in (db, db.with_name(db.name + "-wal")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_callback_tokens_are_cleared_once_delivered(
    service: ServiceThread, api: httpx.Client, footage: Footage, receiver: CallbackReceiver
) -> None:
    callback = f"{receiver.url}?token=s3cr3t-token"
    body = _video(footage, callback=callback)
    task_id = envelope(api.post("/v1/understand/upload", json=body))["data"]["task_id"]
    receiver.wait_for(1)

    def stored_url() -> str | None:
        with sqlite3.connect(service.settings.db_path) as db:
            (state, url) = db.execute(
                "SELECT cb_state, callback_url FROM tasks WHERE task_id = ?", (task_id,)
            ).fetchone()
        return url if state == "delivered" else None

    url = wait_until(stored_url, 30, "the delivery to be recorded")
    assert "s3cr3t-token" not in url and url.startswith(receiver.url)
    assert b"s3cr3t-token" not in Path(service.settings.db_path).read_bytes()
