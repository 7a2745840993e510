"""Limits on what the engine accepts, so one request cannot exhaust the machine."""

from __future__ import annotations

from dataclasses import dataclass

from tools.reid.settings import ReIDSettings


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024 * 1024
    max_duration_s: float = 4 * 3600.0
    max_pixels: int = 40_000_000

    @classmethod
    def from_settings(cls, settings: ReIDSettings) -> Limits:
        return cls(settings.max_media_bytes, settings.max_duration_s, settings.max_pixels)
