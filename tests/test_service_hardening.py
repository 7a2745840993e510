"""The service under a hostile or unlucky world (issue 10): clear answers to malformed requests,
secrets that do not outlive their use, and private files."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from loopback import (
    API_KEY,
    CallbackReceiver,
    Files,
    Footage,
    HangingReceiver,
    ServiceProcess,
    ServiceThread,
    connect,
    envelope,
    read_until_closed,
    service_settings,
    settings_env,
    submit_image,
    wait_until,
)

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
    files: Files = [
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


# --- Auth before the body, slow clients (item 4) ----------------------------------------------


@pytest.fixture(scope="module")
def strict_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """``reid serve`` as run in production (its own uvicorn settings), with deadlines of 1 s."""
    settings = service_settings(
        tmp_path_factory.mktemp("strict"), header_timeout_s=1.0, body_timeout_s=1.0, max_body_bytes=64 * 2**20
    )
    process = ServiceProcess(settings_env(settings))
    yield process
    process.close()


def _head(path: str, length: int, key: str | None) -> bytes:
    auth = f"Authorization: {key}\r\n" if key else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_unfinished_heads_and_silent_connections_are_closed(strict_service: ServiceProcess) -> None:
    sockets = [connect(strict_service.base_url) for _ in range(6)]
    for sock in sockets[:5]:
        sock.sendall(b"POST /v1/understand/upload HTTP/1.1\r\nHost: test\r\nX-Slow: ")
    for sock in sockets:
        assert read_until_closed(sock) == b""
        sock.close()
    assert httpx.get(f"{strict_service.base_url}/healthz").json() == {"status": "ok"}


def test_a_trickled_body_is_answered_and_closed(strict_service: ServiceProcess) -> None:
    with connect(strict_service.base_url) as sock:
        sock.sendall(_head("/v1/understand/upload", 1000, API_KEY) + b'{"video_url": ')
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    envelope = json.loads(body)
    assert envelope["code"] == "0001" and "did not arrive within 1 s" in envelope["msg"]


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no key", "wrong key"])
def test_a_request_without_a_valid_key_is_answered_before_its_body(
    strict_service: ServiceProcess, key: str | None
) -> None:
    """The head announces 60 MiB; 64 KiB are sent and the answer 0401 comes anyway: the service
    cannot have read a body that was never sent."""
    with connect(strict_service.base_url) as sock:
        sock.sendall(_head("/v1/understand/upload", 60 * 2**20, key) + b" " * 65536)
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["code"] == "0401"


# --- Callback isolation (item 5) --------------------------------------------------------------


def test_a_hanging_receiver_does_not_delay_another_ones_callback(
    start_service: Callable[..., ServiceThread], footage: Footage, receiver: CallbackReceiver
) -> None:
    """Four results owed to a receiver that never answers, then one to a healthy receiver: the
    healthy one gets its callback while every delivery to the hanging one is still being retried."""
    service = start_service(callback_timeout_s=2.0, callback_attempts=6)
    hanging = HangingReceiver()
    try:
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            stuck = [submit_image(api, footage, f"{hanging.url}?n={n}") for n in range(4)]
            wait_until(lambda: len(hanging.bodies) >= 2, 60, "the hanging receiver to be tried")
            healthy = submit_image(api, footage, receiver.url)
            (delivered,) = receiver.wait_for(1, 60)
            states = {envelope(api.get(f"/v1/understand/tasks/{t}"))["data"]["callback"]["state"] for t in stuck}
        assert delivered.json()["task_id"] == healthy
        assert states == {"pending"}, "the healthy callback waited for a hanging delivery to give up"
    finally:
        hanging.close()


# --- Crash blame (item 2) ---------------------------------------------------------------------


def test_only_the_task_running_alone_is_blamed_for_crashes(tmp_path: Path, footage: Footage) -> None:
    """SIGKILL while A and B run side by side blames neither: both then run alone. Killed three
    more times while A runs alone, A is failed as the cause; B, never alone at a crash, is done."""
    env = settings_env(service_settings(tmp_path, max_concurrent_tasks=2))
    started: list[ServiceProcess] = []
    clients: list[httpx.Client] = []

    def start() -> tuple[ServiceProcess, httpx.Client]:
        started.append(ServiceProcess(env))
        clients.append(httpx.Client(base_url=started[-1].base_url, headers={"Authorization": API_KEY}, timeout=30))
        return started[-1], clients[-1]

    def states(api: httpx.Client) -> dict[str, str]:
        return {name: envelope(api.get(f"/v1/understand/tasks/{t}"))["data"]["state"] for name, t in tasks.items()}

    def a_runs(api: httpx.Client) -> bool:
        return states(api)["A"] == "running"

    def settled(api: httpx.Client) -> dict[str, str] | None:
        now = states(api)
        return now if {"queued", "running"}.isdisjoint(now.values()) else None

    try:
        service, api = start()
        tasks = {
            name: envelope(api.post("/v1/understand/upload", json=_video(footage)))["data"]["task_id"]
            for name in ("A", "B")
        }
        wait_until(lambda: states(api) == {"A": "running", "B": "running"}, 60, "A and B to run side by side")
        service.kill()
        for _ in range(3):
            service, api = start()
            wait_until(partial(a_runs, api), 60, "A to run")
            assert states(api)["B"] == "queued", "B must wait while A runs alone"
            service.kill()
        service, api = start()
        assert wait_until(partial(settled, api), 90, "A and B to end") == {"A": "failed", "B": "done"}
        failed = envelope(api.get(f"/v1/understand/tasks/{tasks['A']}"))["data"]
        assert "stopped 3 times while running this task alone" in failed["error"]
    finally:
        for client in clients:
            client.close()
        for process in started:
            process.close()
