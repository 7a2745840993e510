"""The caption writer the settings choose: the template, or the chat model of ``REID_CAPTION_MODEL``.

``openai:<model>`` is LangChain's `ChatOpenAI`, which also speaks to the OpenAI-compatible
servers people run themselves (Ollama, vLLM, llama.cpp's server, LM Studio) at
``REID_CAPTION_BASE_URL``; it comes with the ``llm`` extra, imported only when configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.reid.captions.writer import CaptionWriter, TemplateWriter
from tools.reid.errors import InvalidInput
from tools.reid.extras import require
from tools.reid.settings import ReIDSettings, model_spec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

LOCAL_SERVER_KEY = "not-needed"
"""The key sent to a self-hosted server when none is configured: the OpenAI client insists on
one, and Ollama, vLLM, llama.cpp and LM Studio accept any unless told otherwise."""


def writer_from_settings(settings: ReIDSettings) -> CaptionWriter:
    """The template unless ``REID_CAPTION_MODEL`` names a model.

    Raises:
        MissingExtra: a model is configured but the ``llm`` extra is not installed.
        InvalidInput: the model cannot be set up (no API key for OpenAI itself).
    """
    if settings.caption_model is None:
        return TemplateWriter()
    return chat_model_writer(openai_chat_model(settings), settings, settings.caption_model)


def chat_model_writer(model: BaseChatModel, settings: ReIDSettings, name: str | None = None) -> CaptionWriter:
    """A writer over any LangChain chat model, with the caption settings' deadline, budget and pictures."""
    require("llm", "langchain_core")
    from tools.reid.captions.model import ModelWriter

    return ModelWriter.from_settings(model, settings, name)


def openai_chat_model(settings: ReIDSettings) -> BaseChatModel:
    """`ChatOpenAI` for ``openai:<model>``, at ``REID_CAPTION_BASE_URL`` when set, with the caption
    deadline as its timeout and ``REID_CAPTION_MAX_TOKENS`` as its answer's limit."""
    assert settings.caption_model is not None
    _, model = model_spec(settings.caption_model)
    require("llm", "langchain_openai")
    from langchain_openai import ChatOpenAI

    key = settings.caption_api_key.get_secret_value() if settings.caption_api_key else None
    if key is None and settings.caption_base_url:
        key = LOCAL_SERVER_KEY
    try:
        return ChatOpenAI(
            model=model,
            base_url=settings.caption_base_url,
            api_key=key,
            timeout=settings.caption_timeout_s,
            max_retries=1,
            max_tokens=settings.caption_max_tokens,  # type: ignore[call-arg]
        )
    except Exception as exc:  # the OpenAI client's own complaint, e.g. no key anywhere
        raise InvalidInput(
            f"The caption model {settings.caption_model} cannot be set up: {exc} Set REID_CAPTION_API_KEY, or "
            "REID_CAPTION_BASE_URL for a self-hosted server, or unset REID_CAPTION_MODEL for the template caption."
        ) from None
