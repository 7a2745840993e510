"""The gallery on the real service over loopback: /v1/people per tenant, spec requests naming
enrolled people, removal that deletes the results showing them (proved by scanning the files),
and the audit route."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
from loopback import Footage, ServiceThread, envelope, wait_until

pytest_plugins = ["service_fixtures"]

KEYS = "alice=alice-key,bob=bob-key"


def _client(service: ServiceThread, key: str) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, headers={"Authorization": key}, timeout=60)


def _enrol(api: httpx.Client, footage: Footage, name: str, photo: str, **fields: str) -> dict:
    return api.post(
        "/v1/people",
        data={"name": name, "consent": "signed form 2026-12-01", **fields},
        files=[("file", (photo, footage.path(photo).read_bytes(), "image/jpeg"))],
    ).json()


def _search(api: httpx.Client, footage: Footage, persons: list[dict], **extra: object) -> dict:
    body = {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": "Who is here?",
        "system_prompt": "-",
        "persons": persons,
        **extra,
    }
    answer = envelope(api.post("/v1/understand/upload", json=body))
    assert answer["code"] == "0000", answer
    task_id = answer["data"]["task_id"]

    def ended() -> dict | None:
        data = envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]
        return data if data["state"] in ("done", "failed") else None

    return wait_until(ended, 120, f"task {task_id}") | {"task_id": task_id}


def test_enrol_search_by_name_remove_and_audit(
    start_service: Callable[..., ServiceThread], footage: Footage, tmp_path: Path
) -> None:
    service = start_service(api_keys=KEYS)
    with _client(service, "alice-key") as alice, _client(service, "bob-key") as bob:
        enrolled = _enrol(alice, footage, "Eileen", "alice.jpg")
        assert enrolled["code"] == "0000", enrolled
        assert (
            enrolled["data"]["person"]["faces"] == 1
            and "add two or three more" in enrolled["data"]["person"]["coverage"]
        )
        assert _enrol(alice, footage, "Grace", "bob.jpg")["code"] == "0000"
        listed = envelope(alice.get("/v1/people"))["data"]
        assert [p["name"] for p in listed] == ["Eileen", "Grace"]
        assert envelope(bob.get("/v1/people"))["data"] == []
        thumb = alice.get("/v1/people/eileen/thumbnails/1")
        assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"

        by_name = _search(alice, footage, [{"name": "Eileen"}])
        assert by_name["state"] == "done", by_name
        assert [(p["name"], p["found"]) for p in by_name["result"]["persons"]] == [("Eileen", True)]
        everyone = _search(alice, footage, [], everyone_enrolled=True)
        assert sorted(p["name"] for p in everyone["result"]["persons"] if p["found"]) == ["Eileen", "Grace"]

        other = envelope(bob.post("/v1/understand/upload", json=_body(footage, [{"name": "Eileen"}])))
        assert other["code"] == "0001" and "nobody called 'Eileen' is enrolled" in other["msg"]
        assert "Did you mean" not in other["msg"]
        empty = envelope(bob.post("/v1/understand/upload", json=_body(footage, [], everyone_enrolled=True)))
        assert empty["code"] == "0001" and "nobody is enrolled" in empty["msg"]
        assert envelope(bob.delete("/v1/people/Eileen"))["code"] == "0001"

        embedding, thumbnail = _gallery_bytes(service.settings.db_path, "Eileen")
        removed = envelope(alice.delete("/v1/people/EILEEN"))
        assert removed["code"] == "0000", removed
        assert removed["data"] == {"name": "Eileen", "faces": 1, "thumbnails": 1, "results": {"service-task": 2}}
        for task in (by_name, everyone):
            gone = envelope(alice.get(f"/v1/understand/tasks/{task['task_id']}"))
            assert gone["code"] == "0001" and "unknown task_id" in gone["msg"]

        files = [p for p in service.settings.db_path.parent.rglob("*") if p.is_file()]
        assert files, "the data folder holds the databases"
        for path in files:
            data = path.read_bytes()
            for needle, what in [
                (embedding[:64], "an embedding"),
                (thumbnail[-200:-2], "a thumbnail"),
                (by_name["task_id"].encode(), "the result"),
            ]:
                assert needle not in data, f"{what} of a removed person is still in {path.name}"

        audit = envelope(alice.get("/v1/audit"))["data"]
        assert [(e["action"], e["names"]) for e in audit[:3]] == [
            ("remove", ["Eileen"]),
            ("search", ["(everyone enrolled)"]),
            ("search", ["Eileen"]),
        ]
        assert audit[2]["actor"] == "alice" and audit[2]["surface"] == "service" and len(audit[2]["media_digest"]) == 64
        assert envelope(bob.get("/v1/audit"))["data"] == []


def test_enrolment_refusals_are_0001_with_every_reason(
    start_service: Callable[..., ServiceThread], footage: Footage
) -> None:
    service = start_service(api_keys=KEYS)
    with _client(service, "alice-key") as alice:
        refused = alice.post(
            "/v1/people",
            data={"name": "Eileen", "consent": "x"},
            files=[
                ("file", ("notes.png", footage.path("notes.png").read_bytes(), "image/png")),
                ("file", ("grey.png", footage.path("grey.png").read_bytes(), "image/png")),
            ],
        ).json()
        assert refused["code"] == "0001"
        assert "notes.png:" in refused["msg"] and "grey.png: no face was found" in refused["msg"]
        assert "nothing was stored" in refused["msg"]
        assert _enrol(alice, footage, "Eileen", "alice.jpg", consent="")["msg"].startswith("no consent note")
        assert _enrol(alice, footage, "Eileen", "alice.jpg")["code"] == "0000"
        twice = _enrol(alice, footage, "eileen", "alice.png")
        assert twice["code"] == "0001" and "already enrolled" in twice["msg"]
        unknown = envelope(alice.get("/v1/people/Eilene"))
        assert unknown["code"] == "0001" and "Did you mean Eileen?" in unknown["msg"]
        assert len(envelope(alice.get("/v1/people"))["data"]) == 1


def _body(footage: Footage, persons: list[dict], **extra: object) -> dict:
    return {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": "Who?",
        "system_prompt": "-",
        "persons": persons,
        **extra,
    }


def _gallery_bytes(path: Path, name: str) -> tuple[bytes, bytes]:
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT embedding, thumbnail FROM gallery_faces JOIN gallery_people USING (person_id) WHERE name = ?",
            (name,),
        ).fetchone()
    return bytes(row[0]), bytes(row[1])


def test_an_uploaded_image_searched_for_an_enrolled_name(
    start_service: Callable[..., ServiceThread], footage: Footage
) -> None:
    service = start_service(api_keys=KEYS)
    with _client(service, "alice-key") as alice:
        assert _enrol(alice, footage, "Eileen", "alice.jpg")["code"] == "0000"
        req = {"user_prompt": "Is Eileen here?", "persons": [{"name": "eileen"}]}
        image = footage.path("test_image.png").read_bytes()
        answer = envelope(
            alice.post(
                "/v1/understand/uploadImg",
                data={"req": json.dumps(req)},
                files=[("file", ("test_image.png", image, "image/png"))],
            )
        )
        assert answer["code"] == "0000", answer
        assert [(p["name"], p["found"]) for p in answer["data"]["persons"]] == [("Eileen", True)]
        typo = envelope(
            alice.post(
                "/v1/understand/uploadImg",
                data={"req": json.dumps({**req, "persons": [{"name": "Eilen"}]})},
                files=[("file", ("test_image.png", image, "image/png"))],
            )
        )
        assert typo["code"] == "0001" and "Did you mean Eileen?" in typo["msg"]
