"""Code the tests run on their Dask workers (importable there: the workers' PYTHONPATH holds
tests/). Nothing here is production code."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def slowly(markers: Path, seconds: float, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` after leaving a marker named for this process and sleeping, so a test can
    kill the process while it holds a segment."""
    (markers / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
    time.sleep(seconds)
    return fn(*args)
