"""The service's pictures and names over loopback: a finished video task's timeline PNG, the
errors around it in the service's envelope, and names kept exactly as given."""

from __future__ import annotations

import io

import httpx
from loopback import API_KEY, CallbackReceiver, Files, Footage, ServiceThread, envelope, wait_until
from PIL import Image

from tools.reid.engine.timeline import PALETTE, timeline_layout
from tools.reid.schemas import ReIDResult

pytest_plugins = ["service_fixtures"]


def _done(api: httpx.Client, task_id: str) -> dict:
    def finished() -> dict | None:
        task = envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]
        return task if task["state"] in ("done", "failed") else None

    task = wait_until(finished, 60, f"task {task_id} to end")
    assert task["state"] == "done", task
    return task


def test_a_finished_video_task_has_a_timeline_png(api: httpx.Client, footage: Footage) -> None:
    body = {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": "When are Alice and Bob on screen?",
        "system_prompt": "-",
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}, {"name": "Bob", "url": footage.url("bob.jpg")}],
    }
    task_id = envelope(api.post("/v1/understand/upload", json=body))["data"]["task_id"]
    result = ReIDResult.model_validate(_done(api, task_id)["result"])
    answer = api.get(f"/v1/understand/tasks/{task_id}/timeline.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content)).convert("RGB")
    layout = timeline_layout(result)
    assert image.size == (layout.width, layout.height) and layout.rows == 2
    for row, person in enumerate(result.persons):
        assert person.found, result.text
        middle = (person.appearances[0].start + person.appearances[0].end) / 2
        assert image.getpixel((layout.x(middle), layout.row_top(row) + layout.row_height // 2)) == PALETTE[row]
    # The same key rules it as the task itself.
    refused = httpx.get(f"{api.base_url}/v1/understand/tasks/{task_id}/timeline.png")
    assert envelope(refused)["code"] == "0401"


def test_timeline_errors_are_envelopes_like_the_task_routes(
    api: httpx.Client, service: ServiceThread, footage: Footage, receiver: CallbackReceiver
) -> None:
    unknown = envelope(api.get("/v1/understand/tasks/0123456789abcdef/timeline.png"))
    assert unknown["code"] == "0001" and "unknown task_id '0123456789abcdef'" in unknown["msg"]
    assert api.get("/v1/understand/tasks/x/timeline.gif").status_code == 404
    body = {
        "url": footage.url("test_image.png"),
        "user_prompt": "Is Alice here?",
        "system_prompt": "-",
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}],
        "callback": receiver.url,
    }
    task_id = envelope(api.post("/v1/understand/uploadImg", json=body))["data"]["task_id"]
    receiver.wait_for(1)
    photo = envelope(api.get(f"/v1/understand/tasks/{task_id}/timeline.png"))
    assert photo["code"] == "0001" and "photo, which has no timeline" in photo["msg"]
    docs = httpx.get(f"{service.base_url}/openapi.json").json()["paths"]
    assert docs["/v1/understand/tasks/{task_id}/timeline.png"]["get"]["summary"].startswith("Extension")


def test_names_are_kept_exactly_as_given(service: ServiceThread, footage: Footage) -> None:
    name = "Zoë O'Brien-Smith"
    with footage.path("test_image.png").open("rb") as image, footage.path("alice.png").open("rb") as alice:
        files: Files = [
            (
                "req",
                (
                    "req.json",
                    f'{{"user_prompt": "Is {name} here?", "persons": [{{"name": "{name}"}}]}}',
                    "application/json",
                ),
            ),
            ("file", ("test_image.png", image, "image/png")),
            ("file", ("alice.png", alice, "image/png")),
        ]
        answer = envelope(
            httpx.post(
                f"{service.base_url}/v1/understand/uploadImg",
                files=files,
                headers={"Authorization": API_KEY},
                timeout=60,
            )
        )
    assert [(p["name"], p["found"]) for p in answer["data"]["persons"]] == [(name, True)]
    assert answer["data"]["text"].startswith(f"{name} is in the image.")
