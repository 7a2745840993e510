"""A LangChain chat model as the caption writer, kept honest by the findings.

Imported only when a model is configured (``REID_CAPTION_MODEL``, or a `BaseChatModel` given to
`ReIDTool`): the default install has no LangChain. The model is asked once, and again (up to
``retries`` times) with what was wrong when its caption fails the check (`honesty`); a model
that will not take pictures is asked once more without them. Whatever goes wrong (unreachable,
past the deadline, refusing, over the token budget, contradicting the findings) the template
is used and ``caption.warning`` says why; writing a caption never fails a task.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import Future
from pathlib import Path
from time import monotonic
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from tools.reid.captions.honesty import clean, problems
from tools.reid.captions.pictures import Picture, pictures
from tools.reid.captions.prompt import correction, system_text, user_content
from tools.reid.captions.writer import Caption, CaptionAsk, template
from tools.reid.schemas import CaptionInfo, ReIDResult, TokenUsage
from tools.reid.settings import ReIDSettings, ThinkingStyle

log = logging.getLogger(__name__)

_OPENAI_REASONING = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)
"""OpenAI's models that take ``reasoning_effort`` (and refuse it: the others)."""
DEFAULT_EFFORT = "medium"


class ModelWriter:
    """Writes captions with ``model``.

    Args:
        model: any LangChain chat model; one taking images sees the pictures when ``images``.
        name: how results name it (``openai:gpt-4o-mini``); by default its own model name.
        timeout_s: deadline of one caption, all attempts together.
        token_budget: no further attempt once this many tokens (input and output) are spent.
        retries: attempts again after a caption that failed the check.
        images: show the keyframes and ``frames`` sampled frames, ``image_px`` on their longest side.
        thinking: how a request's ``thinking`` reaches the model (see ``REID_CAPTION_THINKING``).
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        name: str | None = None,
        timeout_s: float = 60.0,
        token_budget: int = 40_000,
        retries: int = 1,
        images: bool = True,
        frames: int = 6,
        image_px: int = 512,
        thinking: ThinkingStyle = "auto",
    ) -> None:
        self.model = model
        self.name = name or _model_name(model)
        self.timeout_s = timeout_s
        self.token_budget = token_budget
        self.retries = retries
        self.images = images
        self.frames = frames
        self.image_px = image_px
        self.thinking = thinking

    @classmethod
    def from_settings(cls, model: BaseChatModel, settings: ReIDSettings, name: str | None = None) -> ModelWriter:
        return cls(
            model,
            name=name,
            timeout_s=settings.caption_timeout_s,
            token_budget=settings.caption_token_budget,
            retries=settings.caption_retries,
            images=settings.caption_images,
            frames=settings.caption_frames,
            image_px=settings.caption_image_px,
            thinking=settings.caption_thinking,
        )

    def write(self, result: ReIDResult, ask: CaptionAsk, media: Path | None) -> Caption:
        return _Attempts(self, result, ask, media).run()

    def thinking_options(self, ask: CaptionAsk) -> dict[str, Any]:
        """The request's ``thinking`` flag in the provider's terms; nothing where it has none."""
        style = self.thinking
        if style == "auto":
            style = "reasoning_effort" if _OPENAI_REASONING.match(self.name.partition(":")[2] or self.name) else "off"
        if style == "reasoning_effort" and ask.thinking:
            return {"reasoning_effort": ask.reasoning_effort or DEFAULT_EFFORT}
        if style == "chat_template":
            return {"extra_body": {"chat_template_kwargs": {"enable_thinking": ask.thinking}}}
        return {}

    def ask_within(self, messages: list[BaseMessage], options: dict[str, Any], timeout_s: float) -> BaseMessage:
        """The model's answer, or `TimeoutError` after ``timeout_s``. The call runs in a daemon
        thread, so a model that ignores its own timeout cannot hold the task (a configured one
        is given the same deadline and ends its request then)."""
        answer: Future[BaseMessage] = Future()

        def call() -> None:
            try:
                answer.set_result(self.model.invoke(messages, **options))
            except BaseException as exc:  # handed to the waiting thread, which decides
                answer.set_exception(exc)

        threading.Thread(target=call, name="reid-caption", daemon=True).start()
        return answer.result(timeout=timeout_s)


class _Attempts:
    """One caption's attempts, the tokens they spent, and the fallback."""

    def __init__(self, writer: ModelWriter, result: ReIDResult, ask: CaptionAsk, media: Path | None) -> None:
        self.writer = writer
        self.result = result
        self.ask = ask
        self.deadline = monotonic() + writer.timeout_s
        self.spent = TokenUsage()
        self.attempts = 0
        self.note: str | None = None
        self.shown = self._pictures(media)
        self.messages = self._messages()

    def run(self) -> Caption:
        checks_left, wrong = 1 + self.writer.retries, []
        while checks_left:
            if self.spent.total >= self.writer.token_budget:
                return self._template(f"the caption model used up its token budget ({self.writer.token_budget})")
            remaining = self.deadline - monotonic()
            if remaining <= 0:
                return self._template(self._too_slow())
            self.attempts += 1
            try:
                reply = self.writer.ask_within(self.messages, self.writer.thinking_options(self.ask), remaining)
            except Exception as exc:
                if _is_timeout(exc):
                    return self._template(self._too_slow())
                if self.shown:  # most likely a text-only model: ask again without the pictures
                    self.note = (
                        f"the caption model did not take the pictures ({_describe(exc)}); it was asked without them"
                    )
                    self.shown = []
                    self.messages = self._messages()
                    continue
                return self._template(f"the caption model could not be used: {_describe(exc)}")
            self.spent += _usage(reply)
            if refusal := _refusal(reply):
                return self._template(f"the caption model refused: {refusal}")
            text = clean(_text(reply))
            wrong = problems(text, self.result)
            if not wrong:
                info = self._info("model", self.note)
                return Caption(text, info, self.spent)
            checks_left -= 1
            self.messages += [AIMessage(content=text), HumanMessage(content=correction(wrong))]
        return self._template(f"the caption model's text contradicted the findings: {'; '.join(wrong)}")

    def _pictures(self, media: Path | None) -> list[Picture]:
        if media is None or not self.writer.images:
            return []
        try:
            return pictures(media, self.result, self.writer.frames, self.writer.image_px)
        except Exception as exc:  # the pictures are a help to the caption, never a reason to fail the task
            self.note = f"the pictures could not be drawn ({_describe(exc)}); the model was asked without them"
            return []

    def _messages(self) -> list[BaseMessage]:
        content = user_content(self.result, self.ask, self.shown)
        return [SystemMessage(content=system_text(self.ask)), HumanMessage(content=content)]  # type: ignore[arg-type]

    def _too_slow(self) -> str:
        return f"the caption model did not answer within {self.writer.timeout_s:g} s (REID_CAPTION_TIMEOUT_S)"

    def _info(self, writer: str, warning: str | None) -> CaptionInfo:
        return CaptionInfo.model_validate(
            {
                "writer": writer,
                "model": self.writer.name,
                "warning": warning,
                "attempts": self.attempts,
                "pictures": len(self.shown),
            }
        )

    def _template(self, warning: str) -> Caption:
        log.warning("caption model %s not used: %s", self.writer.name, warning)
        return template(self.result, self._info("template", warning), self.spent)


def _model_name(model: BaseChatModel) -> str:
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _usage(reply: BaseMessage) -> TokenUsage:
    usage = getattr(reply, "usage_metadata", None) or {}
    used_in, used_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return TokenUsage(input=used_in, output=used_out, total=int(usage.get("total_tokens", used_in + used_out)))


def _refusal(reply: BaseMessage) -> str | None:
    """Why the provider says the model would not answer: OpenAI's ``refusal``, a content filter."""
    refusal = reply.additional_kwargs.get("refusal")
    if refusal:
        return _short(str(refusal))
    if reply.response_metadata.get("finish_reason") == "content_filter":
        return "the provider's content filter stopped the answer"
    return None


def _text(reply: BaseMessage) -> str:
    """The answer's text (a model may answer in content parts)."""
    if isinstance(reply.content, str):
        return reply.content
    return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in reply.content)


def _is_timeout(exc: Exception) -> bool:
    return isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower()


def _describe(exc: Exception) -> str:
    """An error in a line: its kind and the first line of its message (never its traceback)."""
    message = str(exc).strip().splitlines()
    return _short(f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
