"""All configuration of the ReID tool, read once from ``REID_*`` environment variables.

The README lists every variable; nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.reid.limits import Limits
from tools.reid.schemas import AnalysisOptions, DescriptorName, DetectorName

KiB = 1024
MiB = 1024 * 1024


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

    # A Dask cluster to run videos on instead of this machine's processes (``tools.reid.cluster``)
    cluster: str | None = Field(
        None, description="Address of a Dask scheduler, e.g. tcp://10.0.0.5:8786; unset runs everything here."
    )
    cluster_timeout_s: float = Field(10.0, gt=0, description="How long to wait for the scheduler and a worker.")
    cluster_concurrent_tasks: int = Field(
        8, ge=1, description="Tasks the service runs at once with a cluster (instead of max_concurrent_tasks)."
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
