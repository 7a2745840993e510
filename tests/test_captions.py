"""The caption writers on their own: the check against the findings, and the chat-model writer
driven by langchain-core's fake chat models (attempts, tokens, deadline, refusals, thinking)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from pydantic import Field, ValidationError
from results import person, result_of

from tools.reid.captions import CaptionAsk, TemplateWriter, problems, writer_from_settings
from tools.reid.captions.facts import findings
from tools.reid.captions.model import ModelWriter
from tools.reid.engine.caption import caption
from tools.reid.errors import InvalidInput, MissingExtra
from tools.reid.facade import LocalBackend, ReIDTool
from tools.reid.schemas import Keyframe, ReIDResult, TokenUsage, UnknownAppearance, UnknownPerson
from tools.reid.settings import ReIDSettings

ASK = CaptionAsk("Summarize the video and identify known persons.", "You are a video understanding system.")


def _templated(result: ReIDResult) -> ReIDResult:
    text = caption(result.media, result.persons, result.unknown_faces, result.unknown_people)
    return result.model_copy(update={"text": text})


ALICE_BOB_CAROL = _templated(
    result_of([person("Alice", [(3, 10), (40, 44)]), person("Bob", [(8, 30)]), person("Carol", [])])
)


def _reply(text: str, used_in: int = 200, used_out: int = 50, **extra: Any) -> AIMessage:
    usage = {"input_tokens": used_in, "output_tokens": used_out, "total_tokens": used_in + used_out}
    return AIMessage(content=text, usage_metadata=usage, **extra)


class Recording(GenericFakeChatModel):
    """langchain-core's fake chat model, remembering the messages of each call."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


class Slow(GenericFakeChatModel):
    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        time.sleep(3)
        return super()._generate(messages, *args, **kwargs)


class Broken(GenericFakeChatModel):
    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise ConnectionError("Connection refused\n(a second line that stays out of the warning)")


def _model(*replies: AIMessage) -> Recording:
    return Recording(messages=iter(replies))


# --- The check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        ALICE_BOB_CAROL,
        _templated(result_of([person("Alice", [])])),
        _templated(result_of([person("Alice", []), person("Bob", [])])),
        _templated(result_of([person("Ann", [(0, 59.6)]), person("Anna", [(1, 2)]), person("Bo", [])])),
        _templated(result_of([person("Alice", [(0, 0)])], kind="image")),
    ],
    ids=["three", "nobody", "neither", "longer-names", "image"],
)
def test_the_template_passes_its_own_check(result: ReIDResult) -> None:
    assert problems(result.text, result) == []


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Alice and Bob appear; Carol was not found.", []),
        ("Alice is on screen 0:03–0:10 and again from 0:40 to 0:44; Bob from 0:08 until 0:30.", []),
        ("Alice and Bob are on screen together 0:08-0:10. Carol is absent.", []),
        ("Alice enters at 3 seconds, Bob after her; neither Carol nor anyone else is seen.", []),
        ("Alice appears.", ["it does not name Bob, who was found"]),
        ("Alice, Bob and Carol appear.", ["it says Carol is there, but Carol was not found"]),
        ("Alice and Bob appear, but Carol walks in at the end.", ["it says Carol is there, but Carol was not found"]),
        ("Alice appears at 0:20. Bob too.", ["it states 0:20, but Alice is on screen 0:03–0:10 and 0:40–0:44"]),
        ("Alice is on screen from 0:03 to 0:30, Bob too.", []),  # Bob covers her gap: the clause names both
        ("Alice is on screen from 0:03 to 0:30. Bob also.", ["it states 0:03 to 0:30, but Alice is on screen"]),
        ("Alice and Bob appear in the 2 minutes of video.", ["it states 2 minutes, more than the media's 1:00"]),
        ("Alice and Bob appear; the video ends at 1:30.", ["it states 1:30, but the media lasts 0:00–1:00"]),
        ("", ["it is empty"]),
    ],
)
def test_the_check_reads_names_and_times(text: str, wrong: list[str]) -> None:
    found = problems(text, ALICE_BOB_CAROL)
    assert len(found) == len(wrong) and all(f.startswith(w) for f, w in zip(found, wrong, strict=True)), found


def _with_a_stranger(result: ReIDResult) -> ReIDResult:
    seen = UnknownAppearance(start=12.0, end=20.0, keyframe=Keyframe(time=14.0, box=(0, 0, 10, 10)))
    stranger = UnknownPerson(
        id="person-1", label="Person 1", first_seen_s=12.0, last_seen_s=20.0, total_s=8.0,
        appearances=[seen], keyframe=seen.keyframe, tracks=2,
    )  # fmt: skip
    return _templated(result.model_copy(update={"unknown_people": [stranger], "unknown_faces": 2}))


def test_unknown_people_are_facts_by_label_and_their_times_are_checked() -> None:
    result = _with_a_stranger(ALICE_BOB_CAROL)
    assert problems(result.text, result) == [], result.text
    assert findings(result)["unknown_people"] == [
        {
            "label": "Person 1",
            "on_screen_s": 8.0,
            "appearances": [{"start_s": 12.0, "end_s": 20.0, "from": "0:12", "to": "0:20"}],
        }
    ]
    assert problems("Alice and Bob appear; Carol does not. Person 1 lingers from 0:12 to 0:20.", result) == []
    assert problems("Alice and Bob appear; Carol does not. Person 1 arrives at 0:50.", result) == [
        "it states 0:50, but Person 1 is on screen 0:12–0:20"
    ]


def test_a_longer_name_is_not_its_shorter_neighbour() -> None:
    result = _templated(result_of([person("Bob Smith", [(1, 5)]), person("Bob", [])]))
    assert problems("Bob Smith appears at 0:02.", result) == []
    assert problems("Bob Smith and Bob appear.", result) == ["it says Bob is there, but Bob was not found"]


# --- The chat-model writer ---------------------------------------------------------------------


def test_an_honest_caption_is_used_with_its_tokens() -> None:
    model = _model(_reply("Alice appears first, at 0:03, then Bob at 0:08; Carol was not found.", 1234, 56))
    written = ModelWriter(model, name="fake:model").write(ALICE_BOB_CAROL, ASK, None)
    assert written.text == "Alice appears first, at 0:03, then Bob at 0:08; Carol was not found."
    assert written.token == TokenUsage(input=1234, output=56, total=1290)
    assert (written.info.writer, written.info.model, written.info.warning) == ("model", "fake:model", None)
    assert written.info.attempts == 1 and written.info.pictures == 0
    (messages,) = model.seen
    system, user = messages
    assert system.content.startswith("You are a video understanding system.")  # type: ignore[union-attr]
    assert "Name every person whose" in str(system.content)
    assert "Question: Summarize the video and identify known persons." in str(user.content)
    assert '"name":"Carol","found":false' in str(user.content)
    assert '"together":[{"persons":["Alice","Bob"],"start_s":8.0,"end_s":10.0' in str(user.content)


def test_a_contradicting_caption_is_asked_again_and_the_tokens_add_up() -> None:
    model = _model(_reply("Alice and Carol appear."), _reply("Alice and Bob appear; Carol does not.", 300, 40))
    written = ModelWriter(model, retries=1).write(ALICE_BOB_CAROL, ASK, None)
    assert written.text == "Alice and Bob appear; Carol does not." and written.info.writer == "model"
    assert written.token == TokenUsage(input=500, output=90, total=590)
    assert written.info.attempts == 2
    again = model.seen[1]
    assert again[2] == AIMessage(content="Alice and Carol appear.")
    assert isinstance(again[3], HumanMessage) and "it says Carol is there, but Carol was not found" in again[3].content


def test_a_caption_that_stays_wrong_is_replaced_by_the_template() -> None:
    model = _model(_reply("Nobody is in the video."), _reply("Nobody at all."))
    written = ModelWriter(model, retries=1).write(ALICE_BOB_CAROL, ASK, None)
    assert written.text == ALICE_BOB_CAROL.text and written.info.writer == "template"
    assert written.info.warning is not None
    assert written.info.warning.startswith("the caption model's text contradicted the findings: it does not name Alice")
    assert written.token == TokenUsage(input=400, output=100, total=500), "tokens spent are counted all the same"


def test_an_unreachable_model_leaves_the_template_and_says_why() -> None:
    written = ModelWriter(Broken(messages=iter([]))).write(ALICE_BOB_CAROL, ASK, None)
    assert written.text == ALICE_BOB_CAROL.text and written.info.writer == "template"
    assert written.info.warning == "the caption model could not be used: ConnectionError: Connection refused"
    assert written.token == TokenUsage()


def test_a_slow_model_is_left_at_the_deadline() -> None:
    started = time.monotonic()
    written = ModelWriter(Slow(messages=iter([_reply("Alice and Bob.")])), timeout_s=0.5).write(
        ALICE_BOB_CAROL, ASK, None
    )
    assert time.monotonic() - started < 2.0
    assert written.info.writer == "template"
    assert written.info.warning == "the caption model did not answer within 0.5 s (REID_CAPTION_TIMEOUT_S)"


def test_a_refusal_is_not_retried() -> None:
    model = _model(_reply("", 150, 9, additional_kwargs={"refusal": "I can't identify people."}))
    written = ModelWriter(model, retries=2).write(ALICE_BOB_CAROL, ASK, None)
    assert written.info.warning == "the caption model refused: I can't identify people."
    assert written.info.attempts == 1 and written.token.total == 159


def test_no_attempt_past_the_token_budget() -> None:
    model = _model(_reply("Nobody.", 280, 30), _reply("Alice and Bob."))
    written = ModelWriter(model, retries=1, token_budget=300).write(ALICE_BOB_CAROL, ASK, None)
    assert written.info.warning == "the caption model used up its token budget (300)"
    assert written.info.attempts == 1 and written.token.total == 310


def test_a_reasoning_block_is_not_the_caption() -> None:
    model = _model(_reply("<think>Carol? No, not found.</think>\nAlice and Bob appear; Carol does not."))
    assert ModelWriter(model).write(ALICE_BOB_CAROL, ASK, None).text == "Alice and Bob appear; Carol does not."


def test_control_characters_do_not_reach_terminals_or_slack() -> None:
    model = _model(_reply("Alice and Bob appear.\x1b[2J\nCarol does not.\u202e"))
    assert ModelWriter(model).write(ALICE_BOB_CAROL, ASK, None).text == "Alice and Bob appear. [2J Carol does not."


def test_thinking_reaches_the_provider_in_its_terms() -> None:
    thinking, plain = CaptionAsk(thinking=True, reasoning_effort="high"), CaptionAsk()
    model = _model()
    assert ModelWriter(model, name="openai:o4-mini").thinking_options(thinking) == {"reasoning_effort": "high"}
    assert ModelWriter(model, name="openai:gpt-5-mini").thinking_options(CaptionAsk(thinking=True)) == {
        "reasoning_effort": "medium"
    }
    assert ModelWriter(model, name="openai:o4-mini").thinking_options(plain) == {}
    assert ModelWriter(model, name="openai:gpt-4o-mini").thinking_options(thinking) == {}
    qwen = ModelWriter(model, name="openai:qwen3:8b", thinking="chat_template")
    assert qwen.thinking_options(thinking) == {"extra_body": {"chat_template_kwargs": {"enable_thinking": True}}}
    assert qwen.thinking_options(plain) == {"extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}
    assert ModelWriter(model, name="openai:o4-mini", thinking="off").thinking_options(thinking) == {}


# --- Configuration ------------------------------------------------------------------------------


def test_without_a_model_the_template_writes(tmp_path: Any) -> None:
    writer = writer_from_settings(ReIDSettings())
    assert isinstance(writer, TemplateWriter)
    written = writer.write(ALICE_BOB_CAROL, ASK, None)
    assert written.text == ALICE_BOB_CAROL.text and written.token == TokenUsage()
    assert written.info.model_dump() == {
        "writer": "template",
        "model": None,
        "warning": None,
        "attempts": 0,
        "pictures": 0,
    }


def test_any_chat_model_can_write_through_the_tool() -> None:
    tool = ReIDTool(ReIDSettings(caption_timeout_s=7), caption=_model())
    assert isinstance(tool.backend, LocalBackend) and isinstance(tool.backend.caption, ModelWriter)
    assert tool.backend.caption.timeout_s == 7


def test_a_bad_model_setting_says_what_to_write() -> None:
    with pytest.raises(ValidationError, match="write openai:<model>, e.g. openai:gpt-4o-mini"):
        ReIDSettings(caption_model="gpt-4o-mini")
    assert ReIDSettings(caption_model=" OpenAI:llama3.2 ").caption_model == "openai:llama3.2"


def test_a_missing_llm_extra_names_its_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.reid import extras

    real = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "langchain_openai" else real(name))
    with pytest.raises(MissingExtra, match=r'pip install "reid-footage\[llm\]"'):
        writer_from_settings(ReIDSettings(caption_model="openai:gpt-4o-mini", caption_base_url="http://127.0.0.1:9/v1"))


def test_openai_without_a_key_says_which_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InvalidInput, match="cannot be set up: .* Set REID_CAPTION_API_KEY, or REID_CAPTION_BASE_URL"):
        ReIDTool(ReIDSettings(caption_model="openai:gpt-4o-mini"))
