"""Limits on what the engine accepts, so one request cannot exhaust the machine.

These are the defaults of the ``REID_MAX_*`` settings too; the facade builds the engine's
limits from the settings, and the engine reads no settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024 * 1024
    """Footage, in bytes (1 GiB)."""
    max_duration_s: float = 4 * 3600.0
    max_pixels: int = 40_000_000
    """A frame or a photo, in pixels: a decompression bomb is refused before it is decoded."""
