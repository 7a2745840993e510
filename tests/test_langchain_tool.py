"""`human_reid`, the LangChain tool: real clips and photos through the local engine, and the
tool-calling round an agent makes (model -> tool call -> ToolMessage -> model), with a scripted
chat model instead of a hosted one."""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field
from ticking import run_while_ticking

from tools.reid import synth
from tools.reid.facade import ReIDTool
from tools.reid.langchain import PROGRESS_EVENT, PROGRESS_STEP, SECONDS_PER_FOOTAGE_MINUTE, HumanReIDTool
from tools.reid.progress import ProgressFn
from tools.reid.schemas import MediaInfo, PersonResult, ReIDRequest, ReIDResult, Stats
from tools.reid.settings import ReIDSettings

TRUTH = (1.0, 4.0)
"""When Alice is on screen in the `alice_clip`, in seconds."""
SLACK_S = 0.5
"""One sampling step at the default 2 fps: the engine's timing resolution."""


class ScriptedChatModel(GenericFakeChatModel):
    """Plays back scripted replies and keeps every conversation it was shown, so a test can check
    what the model saw. `bind_tools` returns the model itself: the script already holds the calls."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def run_agent(
    model: ScriptedChatModel, tools: Sequence[BaseTool], question: str, config: RunnableConfig | None = None
) -> list[BaseMessage]:
    """The loop every tool-calling agent runs: ask the model, run the tools it calls, repeat until it answers."""
    by_name = {tool.name: tool for tool in tools}
    bound = model.bind_tools(tools)
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(4):
        reply = bound.invoke(messages, config)
        messages.append(reply)
        if not reply.tool_calls:
            return messages
        messages.extend(by_name[call["name"]].invoke(call, config) for call in reply.tool_calls)
    raise AssertionError("the agent did not finish within 4 turns")


class ProgressRecorder(BaseCallbackHandler):
    """A callback handler as an agent's host would add one: it keeps the tool runs it saw start and
    the custom events sent to it, with the run each came from."""

    def __init__(self) -> None:
        self.tool_runs: list[UUID] = []
        self.events: list[tuple[str, Any, UUID]] = []

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        self.tool_runs.append(run_id)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data, run_id))

    def fractions(self) -> list[float]:
        """The progress reported, after checking that every event is a progress event of the one tool run."""
        [tool_run] = self.tool_runs
        assert {(name, run_id) for name, _, run_id in self.events} == {(PROGRESS_EVENT, tool_run)}
        return [data["fraction"] for _, data, _ in self.events]


def assert_progress_reported(recorder: ProgressRecorder) -> None:
    fractions = recorder.fractions()
    # A short clip is analysed in few segments, so there are few steps; a long one gives up to 21.
    assert len(fractions) >= 2 and fractions[-1] == 1.0 and 0.0 <= fractions[0] < 1.0
    assert fractions == sorted(set(fractions)), "steps only go up, each once"


def tool_call(args: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    """A tool call as a model emits it; invoking a tool with one returns a ToolMessage."""
    return {"type": "tool_call", "id": call_id, "name": "human_reid", "args": args}


def error_message(messages: list[BaseMessage]) -> ToolMessage:
    return next(m for m in messages if isinstance(m, ToolMessage) and m.status == "error")


@pytest.fixture(scope="module")
def reid_tool() -> HumanReIDTool:
    """The tool on the local engine, one process (the CPUs are shared). Private URLs are allowed so
    that a refused connection on loopback stands for an unreachable server, not a policy refusal."""
    settings = ReIDSettings(backend="local", workers=1, allow_private_urls=True, fetch_timeout_s=10.0)
    return HumanReIDTool(reid=ReIDTool(settings))


@pytest.fixture(scope="module")
def alice_clip(make_clip) -> Path:
    """5 s at 640x360; the astronaut (our Alice) sits in the centre from 1 s to 4 s."""
    return make_clip("alice_1_to_4", [synth.Actor(synth.astronaut_portrait(), *TRUTH, synth.still(0.5))], 5.0)


@pytest.fixture(scope="module")
def alice_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alice") / "alice.png"
    synth.astronaut().save(path)
    return path


@pytest.fixture
def alice_args(alice_clip: Path, alice_photo: Path) -> dict[str, Any]:
    return {
        "media": str(alice_clip),
        "persons": [{"name": "Alice", "photo": str(alice_photo)}],
        "question": "When is Alice on screen?",
    }


def assert_alice_found_on_time(message: ToolMessage) -> None:
    """The caption names Alice for the model; the artifact carries her times for the program."""
    assert message.status == "success"
    assert "Alice appears in the video" in message.content
    json.dumps(message.artifact)  # plain JSON data, storable in agent state as it is
    result = ReIDResult.model_validate(message.artifact)
    (alice,) = result.persons
    assert alice.found and alice.name == "Alice"
    assert len(alice.appearances) == 1
    appearance = alice.appearances[0]
    assert abs(appearance.start - TRUTH[0]) <= SLACK_S
    assert abs(appearance.end - TRUTH[1]) <= SLACK_S
    assert TRUTH[0] - SLACK_S <= appearance.keyframe.time <= TRUTH[1] + SLACK_S
    assert result.prompt == "When is Alice on screen?"


def test_the_schema_a_model_sees_names_the_arguments_the_limit_and_the_time_it_takes() -> None:
    function = convert_to_openai_tool(HumanReIDTool(reid=ReIDTool(ReIDSettings(backend="local"))))["function"]
    assert function["name"] == "human_reid"
    assert "video or an image" in function["description"]
    assert "It recognises faces only" in function["description"], "the template answers who and when only"
    assert f"about {SECONDS_PER_FOOTAGE_MINUTE} seconds per minute of crowded 1080p footage" in function["description"]
    parameters = function["parameters"]
    assert set(parameters["required"]) == {"media"}, "enrolled people need no photo; everyone_enrolled no names"
    assert "1 to 5 different names" in parameters["properties"]["persons"]["description"]
    assert parameters["properties"]["persons"]["maxItems"] > 5, "the limit is on people, not entries"
    assert "list_enrolled_people" in function["description"]
    person = parameters["properties"]["persons"]["items"]
    assert set(person["required"]) == {"name"}, "no photo: someone enrolled"


def test_video_answer_is_the_caption_with_the_result_as_artifact(reid_tool: HumanReIDTool, alice_args) -> None:
    message = reid_tool.invoke(tool_call(alice_args))
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call_1" and message.name == "human_reid"
    assert_alice_found_on_time(message)
    assert message.content == message.artifact["text"]


def test_agent_round_trip_brings_the_answer_back_to_the_model_and_progress_to_the_callbacks(
    reid_tool: HumanReIDTool, alice_args
) -> None:
    model = ScriptedChatModel(
        messages=iter(
            [
                AIMessage("", tool_calls=[tool_call(alice_args, "call_alice")]),
                AIMessage("Alice is on screen from 0:01 to 0:04."),
            ]
        )
    )
    recorder = ProgressRecorder()
    messages = run_agent(model, [reid_tool], "When is Alice in this clip?", {"callbacks": [recorder]})
    assert_progress_reported(recorder)

    assert len(messages) == 4  # question, tool call, tool answer, final answer
    answer, final = messages[2:]
    assert isinstance(answer, ToolMessage) and answer.tool_call_id == "call_alice"
    assert_alice_found_on_time(answer)
    # The model's second turn was shown the tool's caption, and its reply ends the run.
    assert model.seen[1][-1] is answer
    assert isinstance(final, AIMessage)
    assert final.content == "Alice is on screen from 0:01 to 0:04." and not final.tool_calls


def test_async_invoke_answers_the_same_without_blocking_the_loop(reid_tool: HumanReIDTool, alice_args) -> None:
    recorder = ProgressRecorder()
    message, ticks = run_while_ticking(reid_tool.ainvoke(tool_call(alice_args), {"callbacks": [recorder]}))
    assert_alice_found_on_time(message)
    assert_progress_reported(recorder)
    # The analysis takes about a second or more; a blocked loop would not have ticked at all.
    assert ticks >= 10


def test_two_people_with_three_photos_each_are_two_people(
    reid_tool: HumanReIDTool, alice_args, alice_photo: Path, tmp_path: Path
) -> None:
    bob_photo = tmp_path / "bob.png"
    synth.hopper_portrait().save(bob_photo)
    persons = [{"name": name, "photo": str(photo)} for name, photo in [("Alice", alice_photo), ("Bob", bob_photo)]]
    message = reid_tool.invoke(tool_call({**alice_args, "persons": persons * 3}))
    assert message.status == "success"
    assert {p["name"]: p["found"] for p in message.artifact["persons"]} == {"Alice": True, "Bob": False}


def test_image_names_the_person_in_it(reid_tool: HumanReIDTool, tmp_path: Path) -> None:
    media, reference = tmp_path / "grace_hopper.jpg", tmp_path / "grace_reference.png"
    synth.grace_hopper().save(media)
    synth.hopper_portrait().save(reference)
    message = reid_tool.invoke(
        tool_call({"media": str(media), "persons": [{"name": "Grace", "photo": str(reference)}]})
    )
    assert message.status == "success"
    assert "Grace is in the image" in message.content
    assert message.artifact["media"]["kind"] == "image"
    (grace,) = message.artifact["persons"]
    assert grace["found"] and grace["confidence"] > 0.5


def test_real_photo_of_two_people_finds_both(reid_tool: HumanReIDTool, shared_faces: Path) -> None:
    args = {
        "media": str(shared_faces / "two_people.jpg"),
        "persons": [
            {"name": "Obama", "photo": str(shared_faces / "obama.jpg")},
            {"name": "Biden", "photo": str(shared_faces / "biden.jpg")},
        ],
        "question": "Who is in this photo?",
    }
    message = reid_tool.invoke(tool_call(args))
    assert message.status == "success"
    assert "Obama" in message.content and "Biden" in message.content and "not found" not in message.content
    assert {p["name"]: p["found"] for p in message.artifact["persons"]} == {"Obama": True, "Biden": True}


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released), so a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bad_calls(alice_clip: Path, alice_photo: Path, photos, tmp_path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """Mistakes a model can make, each with a phrase the error it gets back must contain."""
    alice = {"name": "Alice", "photo": str(alice_photo)}
    url = f"http://127.0.0.1:{closed_port()}/footage.mp4"
    return {
        "photo without a face": (
            {"media": str(alice_clip), "persons": [{"name": "Nobody", "photo": str(photos["blank"])}]},
            "Reference photo for Nobody",
        ),
        "six persons": (
            {"media": str(alice_clip), "persons": [{**alice, "name": f"Person {i}"} for i in range(6)]},
            "6 persons were given; at most 5 can be searched for at once",
        ),
        "missing footage": (
            {"media": str(tmp_path / "nowhere.mp4"), "persons": [alice]},
            "nowhere.mp4' is not a file that exists here",
        ),
        "unreachable URL": ({"media": url, "persons": [alice]}, f"Cannot fetch the footage from {url}"),
    }


@pytest.mark.parametrize("mistake", ["photo without a face", "six persons", "missing footage", "unreachable URL"])
def test_bad_call_comes_back_to_the_model_as_an_error_it_can_act_on(
    mistake: str, reid_tool: HumanReIDTool, bad_calls: dict[str, tuple[dict[str, Any], str]]
) -> None:
    args, expected = bad_calls[mistake]
    model = ScriptedChatModel(
        messages=iter([AIMessage("", tool_calls=[tool_call(args)]), AIMessage("I could not check that footage.")])
    )
    messages = run_agent(model, [reid_tool], "Is this person in the footage?")

    error = error_message(messages)
    assert expected in error.content
    assert error.tool_call_id == "call_1" and error.artifact is None
    assert model.seen[1][-1] is error  # the model read the error and answered; the loop did not crash


class BrokenBackend:
    """A backend with a bug in it, as opposed to a request the engine refuses."""

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        raise ZeroDivisionError("a bug, not a bad request")


def test_a_bug_is_raised_not_hidden_from_the_developer(alice_args) -> None:
    tool = HumanReIDTool(reid=ReIDTool(ReIDSettings(backend="local"), backend=BrokenBackend()))
    with pytest.raises(ZeroDivisionError, match="a bug"):
        tool.invoke(tool_call(alice_args))


class LongVideoBackend:
    """Stands in for a long analysis: reports a thousand small progress steps, finds nobody."""

    def analyze(self, request: ReIDRequest, progress: ProgressFn) -> ReIDResult:
        for n in range(1001):
            progress(n / 1000)
        return ReIDResult(
            media=MediaInfo(kind="video", duration_s=3600.0, width=1920, height=1080, fps=25.0),
            persons=[PersonResult(name=p.name, found=False, confidence=0.0) for p in request.persons],
            unknown_faces=0,
            text="Alice was not found.",
            stats=Stats(frames_decoded=1, frames_analysed=1, faces_detected=0, wall_s=1.0),
        )


def test_a_long_analysis_reports_progress_in_steps_not_in_a_flood(alice_args) -> None:
    tool = HumanReIDTool(reid=ReIDTool(ReIDSettings(backend="local"), backend=LongVideoBackend()))
    recorder = ProgressRecorder()
    assert tool.invoke(tool_call(alice_args), {"callbacks": [recorder]}).status == "success"
    assert recorder.fractions() == [round(n * PROGRESS_STEP, 4) for n in range(round(1 / PROGRESS_STEP) + 1)]


def test_a_caption_model_answers_the_question_and_the_artifact_carries_its_tokens(alice_args) -> None:
    """With REID_CAPTION_MODEL the content is the model's caption (the real ChatOpenAI against the
    loopback fake), and the artifact holds the same text, its token counts and who wrote it."""
    from fakes.openai import Answer, FakeOpenAI

    fake = FakeOpenAI(default=Answer("Alice stands still in the centre from 0:01 to 0:04.", 900, 40))
    try:
        settings = ReIDSettings(
            workers=1, caption_model="openai:fake-agent", caption_base_url=fake.base_url, caption_frames=2
        )
        tool = HumanReIDTool(reid=ReIDTool(settings))
        message = tool.invoke(tool_call(alice_args))
    finally:
        fake.close()
    assert "looks at frames of the media to answer the question" in tool.description, "the model is told"
    assert message.content == "Alice stands still in the centre from 0:01 to 0:04."
    assert message.artifact["text"] == message.content
    assert message.artifact["token"] == {"input": 900, "output": 40, "total": 940}
    assert (
        message.artifact["caption"]["writer"] == "model" and message.artifact["caption"]["model"] == "openai:fake-agent"
    )
    (sent,) = fake.received
    assert "Question: When is Alice on screen?" in sent.text_of("user") and len(sent.images) == 1 + 2
