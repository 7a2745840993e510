"""The remote backend: the facade's `ReIDTool` over our running service gives the local result."""

from __future__ import annotations

import pytest
from loopback import API_KEY, CallbackReceiver, Footage, ServiceThread

from tools.reid.errors import EngineError, InvalidInput
from tools.reid.facade import ReIDTool, make_backend
from tools.reid.remote.backend import RemoteBackend, result_from_callback
from tools.reid.schemas import AnalysisOptions, PersonSpec, ReIDRequest
from tools.reid.settings import ReIDSettings

pytest_plugins = ["service_fixtures"]


def _tool(service: ServiceThread) -> ReIDTool:
    settings = ReIDSettings(backend="remote", api_url=service.base_url, api_key=API_KEY, api_task_timeout_s=60)
    return ReIDTool(settings)


def _request(media: str, **photos: str) -> ReIDRequest:
    return ReIDRequest(
        media=media, persons=[PersonSpec(name=name, photos=[photo]) for name, photo in photos.items()], prompt="Who?"
    )


def test_settings_choose_the_remote_backend(service: ServiceThread) -> None:
    assert isinstance(_tool(service).backend, RemoteBackend)
    assert isinstance(make_backend(ReIDSettings(backend="remote")), RemoteBackend)


def test_video_by_url(service: ServiceThread, footage: Footage) -> None:
    request = _request(footage.url("alice_then_bob.mp4"), Alice=footage.url("alice.jpg"), Bob=footage.url("bob.jpg"))
    progress: list[float] = []
    result = _tool(service).analyze(request, progress.append)
    assert [(p.name, p.found) for p in result.persons] == [("Alice", True), ("Bob", True)]
    assert result.media.kind == "video" and result.prompt == "Who?"
    assert result.persons[0].appearances[0].start < result.persons[1].appearances[0].start
    assert progress and progress[-1] == 1.0


def test_image_with_local_files(service: ServiceThread, footage: Footage) -> None:
    request = _request(str(footage.path("test_image.png")), Alice=str(footage.path("alice.png")))
    result = _tool(service).analyze(request)
    assert result.media.kind == "image" and result.persons[0].found


def test_engine_options_travel_with_the_request(service: ServiceThread, footage: Footage) -> None:
    """A sampling rate chosen by the caller reaches the service's engine (the service samples 2 fps)."""
    request = _request(footage.url("alice_then_bob.mp4"), Bob=footage.url("bob.jpg"))
    default = _tool(service).analyze(request).stats.frames_analysed
    request.options = AnalysisOptions(sample_fps=1.0)
    assert _tool(service).analyze(request).stats.frames_analysed < default


@pytest.mark.parametrize(
    ("local_video", "local_photo", "message"),
    [
        (True, False, "The video .*alice_then_bob.mp4 is a local file"),
        (False, True, "The reference photo .*bob.jpg of Bob is a local file"),
    ],
)
def test_video_needs_urls(
    service: ServiceThread, footage: Footage, local_video: bool, local_photo: bool, message: str
) -> None:
    def where(name: str, local: bool) -> str:
        return str(footage.path(name)) if local else footage.url(name)

    request = _request(where("alice_then_bob.mp4", local_video), Bob=where("bob.jpg", local_photo))
    with pytest.raises(InvalidInput, match=message):
        _tool(service).analyze(request)


def test_refusal_by_the_service_is_an_invalid_input(service: ServiceThread, footage: Footage) -> None:
    request = _request(str(footage.path("test_image.png")), grey=str(footage.path("grey.png")))
    with pytest.raises(InvalidInput, match="Reference photo for grey"):
        _tool(service).analyze(request)


def test_submit_then_callback(service: ServiceThread, footage: Footage, receiver: CallbackReceiver) -> None:
    backend = _tool(service).backend
    assert isinstance(backend, RemoteBackend)
    video = _request(footage.url("alice_then_bob.mp4"), Bob=footage.url("bob.jpg"))
    image = _request(str(footage.path("test_image.png")), Alice=str(footage.path("alice.png")))
    task_ids = {backend.submit(video, receiver.url): "Bob", backend.submit(image, receiver.url): "Alice"}
    receiver.wait_for(2)
    for task_id, payload in receiver.payloads_by_task().items():
        result = result_from_callback(payload)
        assert [(p.name, p.found) for p in result.persons] == [(task_ids[task_id], True)]


def test_text_only_payload_of_the_hosted_service() -> None:
    payload = {
        "status": 0,
        "task_id": "a1b2c3d4e5",
        "data": {"text": "Bob and Alice are both present.", "token": {"input": 210, "output": 92, "total": 302}},
    }
    result = result_from_callback(payload, ["Alice", "Bob"])
    assert result.text == "Bob and Alice are both present."
    assert [(p.name, p.found, p.confidence) for p in result.persons] == [("Alice", False, 0.0), ("Bob", False, 0.0)]
    assert result.media.kind == "video"


def test_failure_payloads_raise() -> None:
    failed = {"status": -1, "task_id": "t", "data": {"text": "Reference photo for Bob: no face", "token": {}}}
    with pytest.raises(EngineError, match="no face"):
        result_from_callback(failed)
    failed["data"]["error"] = "invalid_input"  # type: ignore[index]
    with pytest.raises(InvalidInput, match="no face"):
        result_from_callback(failed)
    with pytest.raises(EngineError, match="not a callback payload"):
        result_from_callback({"status": 3})
