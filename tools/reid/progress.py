"""The progress callback every stage reports through."""

from collections.abc import Callable

ProgressFn = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0, from the thread doing the work."""


def no_progress(_fraction: float) -> None:
    """The default when nobody listens."""
