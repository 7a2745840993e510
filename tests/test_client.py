"""The API client against the real service over loopback: success and every error code we can provoke."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
from loopback import API_KEY, Footage, ServiceThread

from tools.reid.errors import InvalidInput, ReIDError
from tools.reid.remote.client import AsyncReIDClient, ClientConfig, ReIDClient
from tools.reid.remote.errors import BadRequest, RateLimited, ServiceUnavailable, TaskTimeout, Unauthorized

pytest_plugins = ["service_fixtures"]

PROMPT = "Who is here?"


def _client(base_url: str, api_key: str = API_KEY, **config: float) -> ReIDClient:
    return ReIDClient(config=ClientConfig(base_url, api_key, **config))  # type: ignore[arg-type]


def _found(data: dict) -> dict[str, bool]:
    return {person["name"]: person["found"] for person in data["persons"]}


def test_video_submit_and_wait(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url, poll_interval_s=0.1) as client:
        persons = [("Alice", footage.url("alice.jpg")), ("Bob", footage.url("bob.jpg"))]
        task_id = client.submit_video(footage.url("alice_then_bob.mp4"), persons, PROMPT)
        seen: list[float] = []
        status = client.wait(task_id, timeout_s=60, on_progress=seen.append)
    assert status.state == "done" and status.result is not None
    assert _found(status.result) == {"Alice": True, "Bob": True}
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_image_local_files_go_as_multipart(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url) as client:
        persons = [("Alice", str(footage.path("alice.png"))), ("Bob", footage.url("bob.jpg"))]
        data = client.analyze_image(footage.path("test_image.png"), persons, PROMPT)
    assert _found(data) == {"Alice": True, "Bob": False}
    assert data["token"]["total"] == 0


def test_image_urls_go_as_json(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url) as client:
        data = client.analyze_image(footage.url("test_image.png"), [("Alice", footage.url("alice.jpg"))], PROMPT)
    assert _found(data) == {"Alice": True}


def test_image_url_with_local_photos_is_refused_before_sending(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url) as client, pytest.raises(InvalidInput, match="cannot mix them"):
        client.analyze_image(footage.url("test_image.png"), [("Alice", str(footage.path("alice.png")))], PROMPT)


def test_async_client(service: ServiceThread, footage: Footage) -> None:
    """An image and a video at once, on one event loop."""

    async def video(client: AsyncReIDClient) -> str:
        task_id = await client.submit_video(
            footage.url("alice_then_bob.mp4"), [("Bob", footage.url("bob.jpg"))], PROMPT
        )
        return (await client.wait(task_id, timeout_s=60)).state

    async def both() -> tuple[dict, str]:
        async with AsyncReIDClient(config=ClientConfig(service.base_url, API_KEY, poll_interval_s=0.1)) as client:
            persons = [("Alice", str(footage.path("alice.png")))]
            return await asyncio.gather(
                client.analyze_image(footage.path("test_image.png"), persons, PROMPT), video(client)
            )

    data, state = asyncio.run(both())
    assert _found(data) == {"Alice": True} and state == "done"


def test_bad_request_is_an_invalid_input(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url) as client:
        with pytest.raises(BadRequest) as caught:
            client.submit_video(footage.url("alice_then_bob.mp4"), [], PROMPT)
        assert caught.value.code == "0001" and "persons" in str(caught.value)
        assert isinstance(caught.value, InvalidInput)
        with pytest.raises(BadRequest, match="Reference photo for grey"):
            client.analyze_image(footage.path("test_image.png"), [("grey", str(footage.path("grey.png")))], PROMPT)
        with pytest.raises(BadRequest, match="unknown task_id"):
            client.get_task("no-such-task")


def test_wrong_key(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url, api_key="wrong") as client, pytest.raises(Unauthorized) as caught:
        client.submit_video(footage.url("alice_then_bob.mp4"), [("Bob", footage.url("bob.jpg"))], PROMPT)
    assert caught.value.code == "0401" and "REID_API_KEY" in str(caught.value)
    assert isinstance(caught.value, ReIDError)


def test_full_queue_raises_after_retries_or_waits_its_turn(
    start_service: Callable[..., ServiceThread], footage: Footage
) -> None:
    """0429 is retried honouring Retry-After; with no retries left it is raised."""
    service = start_service(max_queued_tasks=1)
    video, persons = footage.url("alice_then_bob.mp4"), [("Bob", footage.url("bob.jpg"))]
    with _client(service.base_url, retries=0) as impatient, _client(service.base_url, retries=8) as patient:
        accepted = []
        with pytest.raises(RateLimited) as caught:
            for _ in range(4):
                accepted.append(impatient.submit_video(video, persons, PROMPT))
        assert caught.value.retry_after_s == 2 and "queue is full" in str(caught.value)
        accepted.append(patient.submit_video(video, persons, PROMPT))
        for task_id in accepted:
            assert patient.wait(task_id, timeout_s=60).state == "done"


def test_unreachable_service_and_missing_task_endpoint(footage: Footage) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with _client(f"http://127.0.0.1:{closed_port}", retries=1, backoff_s=0.01) as client:
        with pytest.raises(ServiceUnavailable, match="failed"):
            client.get_task("abc")
    # A server without our task endpoint (as the hosted service) answers a plain 404.
    with _client(footage.server.base_url, retries=1) as client, pytest.raises(ServiceUnavailable, match="HTTP 404"):
        client.get_task("abc")


def test_wait_times_out_while_the_task_goes_on(service: ServiceThread, footage: Footage) -> None:
    with _client(service.base_url, poll_interval_s=0.2) as client:
        task_id = client.submit_video(footage.url("alice_then_bob.mp4"), [("Bob", footage.url("bob.jpg"))], PROMPT)
        with pytest.raises(TaskTimeout, match="it goes on"):
            client.wait(task_id, timeout_s=0.1)
        assert client.wait(task_id, timeout_s=60).state == "done"
