"""Local paths as users type them: whether one names a file here, and whether a folder takes files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tools.reid.errors import InvalidInput


def is_local_file(location: str) -> bool:
    """Whether ``location`` is a file that exists here. A string the system cannot even take as
    a path (a name over its length limit, a NUL) names no file, rather than raising."""
    try:
        return Path(location).expanduser().is_file()
    except (OSError, ValueError):
        return False


def writable_folder(folder: Path, option: str) -> Path:
    """``folder``, created if missing, once a file has been written in it and removed (file
    modes alone say nothing to root, nor of a read-only disk).

    Raises:
        InvalidInput: it cannot be created or written; the message names ``option`` and the folder.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput(
            f"{option} {os.fspath(folder)!r}: cannot write there ({reason}). Choose a folder you can write to."
        ) from None
    return folder
