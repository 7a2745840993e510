"""The caption writer's interface, and the template that needs no model.

A writer turns a finished result (and, for a model that looks, the local media) into the text
that answers the request. The result keeps its findings whatever writes the text; only
``text``, ``token`` and ``caption`` change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from tools.reid.schemas import CaptionInfo, ReIDRequest, ReIDResult, TokenUsage


@dataclass(frozen=True)
class CaptionAsk:
    """What the caption answers: the request's prompts and how hard the model may think."""

    user_prompt: str | None = None
    system_prompt: str | None = None
    thinking: bool = False
    reasoning_effort: str | None = None

    @classmethod
    def of(cls, request: ReIDRequest) -> CaptionAsk:
        return cls(request.prompt, request.system_prompt, request.thinking, request.reasoning_effort)


@dataclass(frozen=True)
class Caption:
    """A written caption: its text, who wrote it (and any warning), and the tokens it cost."""

    text: str
    info: CaptionInfo
    token: TokenUsage

    def applied_to(self, result: ReIDResult) -> ReIDResult:
        """The result with this caption as its ``text``, ``token`` and ``caption``."""
        return result.model_copy(update={"text": self.text, "token": self.token, "caption": self.info})


@runtime_checkable
class CaptionWriter(Protocol):
    """Writes the caption of one result. Never raises for the model's sake: a writer that cannot
    use its model returns the template with a warning."""

    def write(self, result: ReIDResult, ask: CaptionAsk, media: Path | None) -> Caption:
        """Args:
        result: the findings, whose ``text`` is the engine's template caption.
        ask: the request's prompts.
        media: the local copy of the analysed media, for the pictures; None when there is none.
        """
        ...


class TemplateWriter:
    """The engine's own caption, built from the findings when the result was made: who appears,
    when, together, and who not. No model, no tokens; the default."""

    def write(self, result: ReIDResult, ask: CaptionAsk, media: Path | None) -> Caption:
        return template(result)


def template(result: ReIDResult, info: CaptionInfo | None = None, spent: TokenUsage | None = None) -> Caption:
    """The template caption; with the model's ``info`` (its warning) and the tokens it ``spent``
    when the template stands in for a model's caption."""
    return Caption(result.text, info or CaptionInfo(), spent or TokenUsage())
