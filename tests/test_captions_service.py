"""Captions by a language model, end to end: the real service with ``REID_CAPTION_MODEL`` set,
the real `ChatOpenAI` client against the loopback OpenAI-compatible fake, results by callback
to a loopback receiver. What the model was sent (prompts, findings, pictures, parameters), the
real token counts in the callback, and the template when the model errs, stalls or contradicts."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.openai import HONEST_USAGE, Answer, Fail, FakeOpenAI, Refuse, Reply, Slow, findings_sent, honest
from loopback import API_KEY, ROOT, CallbackReceiver, Footage, ServiceThread, envelope
from PIL import Image

from tools.reid.facade import ReIDTool
from tools.reid.schemas import PersonSpec, ReIDRequest
from tools.reid.settings import ReIDSettings

pytest_plugins = ["service_fixtures"]

SPEC_USER_PROMPT = "Summarize the video and identify known persons."
SPEC_SYSTEM_PROMPT = "You are a video understanding system that can detect and identify people."
USAGE = {"input": HONEST_USAGE[0], "output": HONEST_USAGE[1], "total": sum(HONEST_USAGE)}


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(default=honest)
    yield fake
    fake.close()


@pytest.fixture
def captioning(start_service: Callable[..., ServiceThread], openai_fake: FakeOpenAI) -> Callable[..., ServiceThread]:
    """Starts a service whose captions the fake's model writes, settings overridden by keyword."""

    def start(**overrides: Any) -> ServiceThread:
        model = {"caption_model": "openai:fake-vision", "caption_base_url": openai_fake.base_url}
        return start_service(**(model | {"caption_timeout_s": 20.0, "caption_image_px": 128} | overrides))

    return start


def _spec_video(service: ServiceThread, footage: Footage, receiver: CallbackReceiver) -> dict[str, Any]:
    """The spec's own video request (host and URLs aside); the callback payload."""
    body = {
        "video_url": footage.url("alice_then_bob.mp4"),
        "user_prompt": SPEC_USER_PROMPT,
        "system_prompt": SPEC_SYSTEM_PROMPT,
        "callback": receiver.url,
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}, {"name": "Bob", "url": footage.url("bob.jpg")}],
    }
    answer = envelope(
        httpx.post(
            f"{service.base_url}/v1/understand/upload", headers={"Authorization": API_KEY}, json=body, timeout=60
        )
    )
    assert answer["code"] == "0000", answer
    (callback,) = receiver.wait_for(1, timeout_s=120)
    payload = callback.json()
    assert payload["status"] == 0 and payload["task_id"] == answer["data"]["task_id"], payload
    return dict(payload["data"])


def _jpeg(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


def test_the_spec_video_request_gets_the_models_caption_with_real_tokens(
    captioning: Callable[..., ServiceThread], openai_fake: FakeOpenAI, footage: Footage, receiver: CallbackReceiver
) -> None:
    data = _spec_video(captioning(caption_frames=4), footage, receiver)

    (sent,) = openai_fake.received
    assert data["text"] == honest(sent).text  # type: ignore[union-attr]
    assert data["token"] == USAGE
    assert data["caption"] == {
        "writer": "model",
        "model": "openai:fake-vision",
        "warning": None,
        "attempts": 1,
        "pictures": len(sent.images),
    }
    assert {p["name"]: p["found"] for p in data["persons"]} == {"Alice": True, "Bob": True}, "the findings stay"
    # What the model was sent: the spec's prompts, the findings, the pictures, our parameters.
    assert sent.text_of("system").startswith(SPEC_SYSTEM_PROMPT)
    assert f"Question: {SPEC_USER_PROMPT}" in sent.text_of("user")
    facts = findings_sent(sent)
    assert [(p["name"], p["found"]) for p in facts["persons"]] == [("Alice", True), ("Bob", True)]
    alice = next(p for p in data["persons"] if p["name"] == "Alice")
    assert facts["persons"][0]["appearances"][0]["start_s"] == round(alice["appearances"][0]["start"], 1)
    assert sent.parameters["model"] == "fake-vision"
    assert sent.parameters["max_completion_tokens"] == 600
    assert "reasoning_effort" not in sent.parameters and "chat_template_kwargs" not in sent.parameters
    keyframes = [line for line in sent.text_of("user").splitlines() if line.startswith("Keyframe at ")]
    frames = [line for line in sent.text_of("user").splitlines() if line.startswith("Frame at ")]
    assert len(keyframes) == len(data["moments"]) >= 1 and len(frames) == 4
    assert len(sent.images) == len(keyframes) + len(frames)
    assert all(max(_jpeg(url).size) <= 128 for url in sent.images), "pictures are downscaled"
    assert sent.headers["authorization"] == "Bearer not-needed", "a local server gets a placeholder key"


@pytest.mark.parametrize(
    ("replies", "warning", "spent"),
    [
        (
            [Fail(500)] * 4,
            "the caption model could not be used: OpenAIAPIError: Error code: 500 - The server had an error",
            0,
        ),
        ([Slow(6)] * 2, "the caption model did not answer within 2 s (REID_CAPTION_TIMEOUT_S)", 0),
        (
            [Answer("Nobody appears.", 100, 10)] * 2,
            "the caption model's text contradicted the findings: it does not name",
            220,
        ),
        ([Refuse(input_tokens=90, output_tokens=5)], "the caption model refused: I'm sorry", 95),
    ],
    ids=["error", "timeout", "contradiction", "refusal"],
)
def test_a_failing_model_leaves_the_template_and_the_task_succeeds(
    captioning: Callable[..., ServiceThread],
    openai_fake: FakeOpenAI,
    footage: Footage,
    receiver: CallbackReceiver,
    replies: list[Reply],
    warning: str,
    spent: int,
) -> None:
    openai_fake.script(*replies)
    data = _spec_video(captioning(caption_timeout_s=2.0), footage, receiver)
    assert data["caption"]["writer"] == "template" and data["caption"]["model"] == "openai:fake-vision"
    assert data["caption"]["warning"].startswith(warning), data["caption"]
    assert data["text"].startswith("Alice and Bob both appear in the video."), "the template's caption"
    assert data["token"]["total"] == spent
    if spent == 220:  # asked again, with what was wrong
        again = openai_fake.received[1]
        assert again.messages[2] == {"role": "assistant", "content": "Nobody appears."}
        assert "it does not name Alice, who was found" in again.messages[3]["content"]


def test_a_model_that_refuses_pictures_is_asked_without_them(
    captioning: Callable[..., ServiceThread], openai_fake: FakeOpenAI, footage: Footage, receiver: CallbackReceiver
) -> None:
    openai_fake.script(*[Fail(400, "This model does not support image input.")])
    data = _spec_video(captioning(), footage, receiver)
    first, second = openai_fake.received
    assert first.images and not second.images
    assert data["caption"]["writer"] == "model" and data["caption"]["pictures"] == 0
    assert data["caption"]["warning"].startswith(
        "the caption model did not take the pictures (OpenAIInvalidRequestError"
    )
    assert "This model does not support image input." in data["caption"]["warning"]
    assert data["token"] == USAGE


def test_the_image_request_passes_thinking_and_answers_inline(
    captioning: Callable[..., ServiceThread], openai_fake: FakeOpenAI, footage: Footage
) -> None:
    service = captioning(caption_thinking="chat_template", caption_images=False)
    body = {
        "url": footage.url("test_image.png"),
        "user_prompt": "Identify if Alice appears in this image.",
        "system_prompt": "You are an image analysis system with human re-identification capabilities.",
        "thinking": True,
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}],
    }
    answer = envelope(
        httpx.post(
            f"{service.base_url}/v1/understand/uploadImg", headers={"Authorization": API_KEY}, json=body, timeout=60
        )
    )
    data = answer["data"]
    (sent,) = openai_fake.received
    assert data["text"] == "The footage shows a grey backdrop. Alice is in the image."
    assert data["token"] == USAGE and data["caption"]["writer"] == "model"
    assert sent.parameters["chat_template_kwargs"] == {"enable_thinking": True}
    assert sent.images == [] and isinstance(sent.messages[1]["content"], str), "REID_CAPTION_IMAGES=false: text only"


def test_the_cli_writes_with_the_model_it_is_given(openai_fake: FakeOpenAI, photos: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.reid.cli", "analyze", str(photos["pair"]), "--json"]
        + ["-p", f"Eileen={photos['eileen']}", "-p", f"Grace={photos['grace']}", "--caption-model", "openai:fake-cli"]
        + ["--prompt", "Who is in the photo?", "--system-prompt", "Be brief."],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "REID_CAPTION_BASE_URL": openai_fake.base_url, "REID_WORKERS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["caption"]["writer"] == "model" and result["caption"]["model"] == "openai:fake-cli"
    assert result["token"] == USAGE
    assert "Caption written by openai:fake-cli, checked against the findings (1234 input + 56 output" in done.stderr
    (sent,) = openai_fake.received
    assert sent.text_of("system").startswith("Be brief.") and "Question: Who is in the photo?" in sent.text_of("user")
    assert len(sent.images) == 1, "a photo's one picture: its annotated keyframe"


def test_a_bad_caption_model_is_a_usage_error(photos: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.reid.cli", "analyze", str(photos["pair"]), "-p", f"Eileen={photos['eileen']}"]
        + ["--caption-model", "gpt-4o-mini"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "write openai:<model>, e.g. openai:gpt-4o-mini" in done.stderr and "Traceback" not in done.stderr


def test_the_remote_backend_passes_the_prompts_and_thinking_to_the_service(
    captioning: Callable[..., ServiceThread], openai_fake: FakeOpenAI, footage: Footage
) -> None:
    """`ReIDTool` over our service (REID_BACKEND=remote): the caption the service's model wrote,
    its tokens and writer come back in the one result; the system prompt and thinking got there."""
    service = captioning(caption_thinking="chat_template")
    remote = ReIDTool(ReIDSettings(backend="remote", api_url=service.base_url, api_key=API_KEY))
    request = ReIDRequest(
        media=footage.url("test_image.png"),
        persons=[PersonSpec(name="Alice", photos=[footage.url("alice.jpg")])],
        prompt="Is Alice here?",
        system_prompt="Answer in one sentence.",
        thinking=True,
    )
    result = remote.analyze(request)
    (sent,) = openai_fake.received
    assert result.text == honest(sent).text  # type: ignore[union-attr]
    assert result.token.model_dump() == USAGE and result.caption.writer == "model"
    assert sent.text_of("system").startswith("Answer in one sentence.")
    assert sent.parameters["chat_template_kwargs"] == {"enable_thinking": True}
