"""Configuration of the Slack bot, read once from the environment.

Slack's own variables keep the names Slack's docs and tools use (``SLACK_BOT_TOKEN``, …); the
bot's knobs are ``REID_BOT_*``; the ReID tool keeps its ``REID_*`` settings (`ReIDSettings`),
so ``REID_BACKEND``, ``REID_API_URL``, ``REID_API_KEY`` and ``REID_CALLBACK_SECRET`` are read there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024

IdList = Annotated[frozenset[str], NoDecode]
"""Comma-separated Slack ids in the environment (``C0123,C0456``); empty means everyone."""


class BotSettings(BaseSettings):
    """Everything the bot needs besides the ReID tool's own settings."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr = Field(validation_alias="SLACK_BOT_TOKEN", description="The xoxb- bot token.")
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET", description="Verifies HTTP requests; not needed in Socket Mode."
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias="SLACK_APP_TOKEN", description="The xapp- token (connections:write) for Socket Mode."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias="SLACK_API_URL", description="Base URL of Slack's Web API."
    )
    public_url: str | None = Field(
        None,
        validation_alias="PUBLIC_URL",
        description="Where the ReID service reaches this bot (remote backend only): callbacks and staged files.",
    )
    db_path: Path = Field(Path("reid-bot.db"), validation_alias="REID_BOT_DB_PATH")
    work_dir: Path | None = Field(
        None,
        validation_alias="REID_BOT_WORK_DIR",
        description="Where the bot's processes keep their downloads (a private folder each); "
        "by default beside the database, REID_BOT_DB_PATH + '.work'.",
    )
    max_footage_bytes: int = Field(1024 * MiB, gt=0, validation_alias="REID_BOT_MAX_FOOTAGE_BYTES")
    max_photo_bytes: int = Field(15 * MiB, gt=0, validation_alias="REID_BOT_MAX_PHOTO_BYTES")
    allowed_channels: IdList = Field(frozenset(), validation_alias="REID_BOT_ALLOWED_CHANNELS")
    allowed_users: IdList = Field(frozenset(), validation_alias="REID_BOT_ALLOWED_USERS")
    progress_interval_s: float = Field(
        2.5, gt=0, validation_alias="REID_BOT_PROGRESS_INTERVAL_S", description="Least time between status updates."
    )
    workers: int = Field(1, ge=1, validation_alias="REID_BOT_WORKERS", description="Requests analysed at once.")
    result_retention_hours: float = Field(
        168.0,
        gt=0,
        validation_alias="REID_BOT_RESULT_RETENTION_HOURS",
        description="An answer's result (names, times, boxes) is kept this long, for its buttons.",
    )
    audit_retention_days: float = Field(
        365.0,
        gt=0,
        validation_alias="REID_BOT_AUDIT_RETENTION_DAYS",
        description="Audit entries (the bot's and the gallery's: who searched for whom) are deleted after this.",
    )
    http_host: str = Field(
        "0.0.0.0", validation_alias="REID_BOT_HOST", description="Socket Mode with the remote backend: callback host."
    )
    http_port: int = Field(3000, validation_alias="REID_BOT_PORT", description="… and its port.")

    @field_validator("allowed_channels", "allowed_users", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        """slack_sdk joins method names onto the base URL, which therefore must end with ``/``."""
        return value if value.endswith("/") else value + "/"

    def work_root(self) -> Path:
        """The parent of each bot process's work folder."""
        return self.work_dir or self.db_path.with_name(self.db_path.name + ".work")

    def allows(self, channel: str, user: str) -> bool:
        """Whether the allow-lists (when set) let this user use the bot in this channel."""
        return (not self.allowed_channels or channel in self.allowed_channels) and (
            not self.allowed_users or user in self.allowed_users
        )
