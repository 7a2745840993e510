"""All configuration of the ReID tool, read once from ``REID_*`` environment variables.

The README lists every variable; nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.reid.limits import Limits
from tools.reid.schemas import AnalysisOptions, DescriptorName, DetectorName

KiB = 1024
MiB = 1024 * 1024
CAPTION_PROVIDERS = ("openai",)
"""Providers of ``REID_CAPTION_MODEL``; ``openai`` also reaches every OpenAI-compatible server."""
ThinkingStyle = Literal["auto", "reasoning_effort", "chat_template", "off"]


def model_spec(value: str) -> tuple[str, str]:
    """``provider:model`` split and checked.

    Raises:
        ValueError: no provider, an unknown one, or no model name; the message says what to write.
    """
    provider, _, model = value.strip().partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if provider not in CAPTION_PROVIDERS or not model:
        raise ValueError(
            f"the caption model {value!r} is not provider:model with a known provider: write openai:<model>, "
            "e.g. openai:gpt-4o-mini, also for Ollama, vLLM, llama.cpp or LM Studio (set REID_CAPTION_BASE_URL "
            "to their /v1 URL)"
        )
    return provider, model


class ReIDSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REID_", extra="ignore")

    # Backend choice (the facade)
    backend: Literal["local", "remote"] = "local"
    api_url: str = Field("https://security.memories.ai", description="Base URL of a compatible ReID API.")
    api_key: SecretStr | None = None
    api_timeout_s: float = Field(60.0, gt=0, description="Per-request timeout of the API client.")
    api_retries: int = Field(4, ge=0, description="Client retries on 0429, 5xx and connection failures.")
    api_task_timeout_s: float = Field(3600.0, gt=0, description="How long the remote backend waits for a video task.")

    # Engine defaults (a request's options override them)
    detector: DetectorName = "yunet"
    descriptor: DescriptorName = "sface"
    tolerance: float | None = Field(None, description="None: the descriptor's measured default.")
    sample_fps: float = 2.0
    gap_s: float = 2.0
    unknown_min_s: float = Field(1.0, ge=0.0, description="Least screen time of a reported unknown person (s).")
    max_unknown_people: int = Field(10, ge=0, description="Most unknown people reported per result; 0: none.")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    # A Dask cluster to run videos on instead of this machine's threads (``tools.reid.cluster``)
    cluster: str | None = Field(
        None, description="Address of a Dask scheduler, e.g. tcp://10.0.0.5:8786; unset runs everything here."
    )
    cluster_timeout_s: float = Field(10.0, gt=0, description="How long to wait for the scheduler and a worker.")
    cluster_concurrent_tasks: int = Field(
        8, ge=1, description="Tasks the service runs at once with a cluster (instead of max_concurrent_tasks)."
    )

    # Who writes the caption: the template from the findings (default), or a language model (``tools.reid.captions``)
    caption_model: str | None = Field(
        None,
        description="provider:model of a chat model that writes the caption, e.g. openai:gpt-4o-mini (the [llm] "
        "extra); unset: the template built from the findings.",
    )
    caption_base_url: str | None = Field(
        None, description="An OpenAI-compatible server's /v1 URL (Ollama, vLLM, llama.cpp, LM Studio)."
    )
    caption_api_key: SecretStr | None = Field(
        None, description="The caption model's API key (none for most local servers)."
    )
    caption_timeout_s: float = Field(
        60.0, gt=0, description="Deadline for the caption, all attempts together; past it the template is used."
    )
    caption_max_tokens: int = Field(600, ge=16, description="Most output tokens of one answer of the model.")
    caption_token_budget: int = Field(
        40_000, ge=100, description="Most tokens (input and output) one caption may use over its attempts."
    )
    caption_retries: int = Field(
        1, ge=0, le=3, description="Attempts again after a caption that failed the check against the findings."
    )
    caption_images: bool = Field(
        True, description="Show the model the keyframes and sampled frames (false: text only)."
    )
    caption_frames: int = Field(6, ge=0, le=16, description="Frames sampled across a video for the model.")
    caption_image_px: int = Field(512, ge=64, le=2048, description="Longest side of each picture the model is shown.")
    caption_thinking: ThinkingStyle = Field(
        "auto",
        description="How a request's thinking flag reaches the model: reasoning_effort (OpenAI's reasoning models), "
        "chat_template (enable_thinking, e.g. Qwen3 on vLLM or llama.cpp), off; auto picks reasoning_effort for "
        "OpenAI's o-series and gpt-5 models, off otherwise.",
    )

    # Limits on input (the engine's defaults, `tools.reid.limits`)
    max_media_bytes: int = Limits.max_bytes
    max_photo_bytes: int = 15 * MiB
    max_duration_s: float = Limits.max_duration_s
    max_pixels: int = Limits.max_pixels
    fetch_timeout_s: float = 120.0
    allow_private_urls: bool = Field(
        False, description="Let URLs reach loopback and private networks (tests, on-premises footage servers)."
    )

    # The HTTP service
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="The keys the service accepts in the Authorization header, comma-separated, each with its "
        "tenant's name: alice=<key>,bob=<key> (a bare key's tenant is named key-<hash prefix>).",
    )
    db_path: Path = Path("reid.db")
    max_body_bytes: int = Field(64 * MiB, description="Largest request body: a multipart upload of image and photos.")
    max_json_bytes: int = Field(
        256 * KiB, description="Largest JSON body, and the multipart form's `req` part: a few persons and URLs."
    )
    header_timeout_s: float = Field(10.0, gt=0, description="A request head must arrive whole within this.")
    body_timeout_s: float = Field(
        120.0, gt=0, description="A request body must arrive whole within this (64 MiB at ~4.5 Mbit/s)."
    )
    keep_alive_s: float = Field(5.0, gt=0, description="An idle keep-alive connection is closed after this.")
    shutdown_grace_s: float = Field(
        5.0, gt=0, description="On SIGTERM/SIGINT, requests in flight get this long to finish."
    )
    max_concurrent_tasks: int = Field(2, ge=1)
    max_queued_tasks: int = Field(100, ge=1)
    callback_secret: SecretStr | None = None
    callback_attempts: int = Field(6, ge=1)
    callback_backoff_s: float = Field(1.0, ge=0.0)
    callback_timeout_s: float = Field(10.0, gt=0, description="Per-attempt timeout of a callback POST.")
    retention_hours: float = Field(
        24.0, ge=0.0, description="Finished tasks (names, times, no images) are deleted after this."
    )

    # The gallery of enrolled people (``tools.reid.gallery``)
    audit_retention_days: float = Field(
        365.0, ge=0.0, description="Audit entries (who searched for whom, where, when) are deleted after this."
    )
    cli_tenant: str = Field("local", min_length=1, description="The CLI's tenant: whose gallery `reid people` uses.")

    @field_validator("caption_model")
    @classmethod
    def _provider_and_model(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        provider, model = model_spec(value)
        return f"{provider}:{model}"

    def with_caption_model(self, value: str | None) -> ReIDSettings:
        """These settings with another caption model (a command line's ``--caption-model``); None keeps theirs.

        Raises:
            ValueError: ``value`` is not provider:model with a known provider (the message says what to write).
        """
        if value is None:
            return self
        provider, model = model_spec(value)
        return self.model_copy(update={"caption_model": f"{provider}:{model}"})

    def analysis_options(self) -> AnalysisOptions:
        """The engine options these settings choose when a request names none."""
        return AnalysisOptions(
            tolerance=self.tolerance,
            sample_fps=self.sample_fps,
            detector=self.detector,
            descriptor=self.descriptor,
            gap_s=self.gap_s,
            unknown_min_s=self.unknown_min_s,
            max_unknown_people=self.max_unknown_people,
        )


@lru_cache(maxsize=1)
def get_settings() -> ReIDSettings:
    """The process-wide settings; tests build their own `ReIDSettings` instead."""
    return ReIDSettings()
