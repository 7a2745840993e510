"""Tenants kept apart (issue 22, item 1): a task belongs to the tenant whose key made it, another
tenant's key is answered as for an unknown id on every route, and the logs name tenants, never
keys, with no task id beside them."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from loopback import (
    ROOT,
    CallbackReceiver,
    Footage,
    ServiceProcess,
    ServiceThread,
    envelope,
    service_settings,
    settings_env,
    wait_until,
)

from tools.reid.database import Database
from tools.reid.errors import InvalidInput
from tools.reid.service.store import _MIGRATIONS, TaskStore
from tools.reid.service.tenants import ApiKeys, unnamed_tenant

pytest_plugins = ["service_fixtures"]

KEYS = "alice=alice-key,bob=bob-key"
UNKNOWN_ID = "0" * 32


def _video(footage: Footage, **changes: object) -> dict[str, object]:
    body = {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": "Is Carol Secret here?",
        "system_prompt": "-",
        "persons": [{"name": "Carol Secret", "url": footage.url("alice.jpg")}],
    }
    return body | changes


def _client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": key}, timeout=60)


def _done(api: httpx.Client, task_id: str) -> dict[str, object]:
    def ended() -> dict[str, object] | None:
        data = envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]
        return data if data["state"] in ("done", "failed") else None

    return wait_until(ended, 90, f"task {task_id} to end")


def _answers(api: httpx.Client, task_id: str) -> list[tuple[int, str, bytes]]:
    """Every task route's answer for ``task_id``, with the id itself blanked out."""
    paths = (f"/v1/understand/tasks/{task_id}", f"/v1/understand/tasks/{task_id}/timeline.png")
    answers = []
    for path in paths:
        response = api.get(path)
        answers.append(
            (response.status_code, response.headers["content-type"], response.content.replace(task_id.encode(), b"ID"))
        )
    return answers


@pytest.mark.parametrize("keys", [KEYS, "alice-key,bob-key"], ids=["named keys", "bare keys"])
def test_another_tenants_task_is_answered_as_an_unknown_id(
    start_service: Callable[..., ServiceThread], footage: Footage, keys: str
) -> None:
    service = start_service(api_keys=keys)
    with _client(service.base_url, "alice-key") as alice, _client(service.base_url, "Bearer bob-key") as bob:
        task_id = envelope(alice.post("/v1/understand/upload", json=_video(footage)))["data"]["task_id"]
        assert _answers(bob, task_id) == _answers(bob, UNKNOWN_ID)  # while it is queued or running
        assert _done(alice, task_id)["state"] == "done"
        refused = _answers(bob, task_id)
        assert refused == _answers(bob, UNKNOWN_ID)
        assert all(b"Carol" not in body and b"0001" in body for _, _, body in refused)
        assert alice.get(f"/v1/understand/tasks/{task_id}/timeline.png").content.startswith(b"\x89PNG")
        assert b"Carol Secret" in alice.get(f"/v1/understand/tasks/{task_id}").content


def test_a_tenant_reads_its_tasks_with_any_of_its_keys(
    start_service: Callable[..., ServiceThread], footage: Footage
) -> None:
    """Two keys of one name are one tenant: a key can be rotated without losing the tasks made with the old one."""
    service = start_service(api_keys="alice=old-key,alice=new-key,bob=bob-key")
    with _client(service.base_url, "old-key") as old, _client(service.base_url, "new-key") as new:
        task_id = envelope(old.post("/v1/understand/upload", json=_video(footage)))["data"]["task_id"]
        assert _done(new, task_id)["state"] == "done"


def test_keys_are_read_with_their_tenant_names() -> None:
    keys = ApiKeys.parse(" alice=k1 , bob=k2,k3, padded==,alice=k4 ")
    assert keys.tenants == {
        "k1": "alice",
        "k2": "bob",
        "k3": unnamed_tenant("k3"),
        "padded==": unnamed_tenant("padded=="),
        "k4": "alice",
    }
    assert re.fullmatch(r"key-[0-9a-f]{12}", unnamed_tenant("k3")) and unnamed_tenant("k3") == unnamed_tenant("k3")
    assert keys.tenant("k1") == keys.tenant("Bearer k4") == "alice"
    assert keys.tenant("k5") is None and keys.tenant(None) is None and keys.tenant("") is None
    assert ApiKeys.parse("").tenant(None) == "local"
    with pytest.raises(InvalidInput, match="tenant name 'al ice' is not usable"):
        ApiKeys.parse("al ice=k1")
    with pytest.raises(InvalidInput, match="one key two tenant names"):
        ApiKeys.parse("alice=k1,bob=k1")


@pytest.mark.parametrize("keys", ["al ice=k1", "alice=k1,bob=k1"])
def test_serve_refuses_unreadable_keys_in_one_line(tmp_path: Path, keys: str) -> None:
    env = settings_env(service_settings(tmp_path)) | {"REID_API_KEYS": keys}
    run = subprocess.run(
        [sys.executable, "-m", "tools.reid.service", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert "REID_API_KEYS" in line and "k1" not in line


def test_tasks_stored_before_tenants_are_read_by_no_key(tmp_path: Path) -> None:
    """A database of the previous schema is migrated; its tasks get no tenant, so no key can read them."""
    path = tmp_path / "reid.db"
    older = Database(path, _MIGRATIONS[:2], store="tasks")
    with older.write() as db:
        db.execute("INSERT INTO tasks (task_id, reply, state, created_at) VALUES ('old', 'poll', 'queued', 0)")
    older.close()
    store = TaskStore(path)
    old = store.get("old")
    assert old is not None and old.tenant == ""
    assert store.owned("old", "alice") is None and store.owned("old", "local") is None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_versions WHERE store = 'tasks'").fetchone()[0] == len(_MIGRATIONS)


def test_logs_name_tenants_and_never_keys_nor_task_ids(
    tmp_path: Path, footage: Footage, receiver: CallbackReceiver
) -> None:
    """The service's own log (INFO, with uvicorn's access log): every line about a task names it
    by its reference, the accept line names the tenant, and no key or task id appears anywhere."""
    process = ServiceProcess(settings_env(service_settings(tmp_path, api_keys=KEYS)))
    try:
        ids = []
        with _client(process.base_url, "alice-key") as alice, _client(process.base_url, "bob-key") as bob:
            ids.append(envelope(alice.post("/v1/understand/upload", json=_video(footage)))["data"]["task_id"])
            ids.append(
                envelope(bob.post("/v1/understand/upload", json=_video(footage, callback=receiver.url)))["data"][
                    "task_id"
                ]
            )
            _done(alice, ids[0])
            _done(bob, ids[1])
            receiver.wait_for(1)
            alice.get(f"/v1/understand/tasks/{ids[0]}/timeline.png")
            bob.get(f"/v1/understand/tasks/{ids[0]}")
        wait_until(lambda: any("callback delivered" in line for line in process.log), 30, "the delivery to be logged")
    finally:
        process.close()
    log = "".join(process.log)
    assert "tenant=alice" in log and "tenant=bob" in log
    assert "GET /v1/understand/tasks/t-" in log  # the access log is there, with references
    for secret in (*ids, "alice-key", "bob-key"):
        assert secret not in log
