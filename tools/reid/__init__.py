"""Find specific people in footage: the shared ReID tool.

The public surface is re-exported here and loaded on first use, so importing a small
module (``tools.reid.schemas``) never loads the face models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.reid.errors import EngineError, FetchError, InvalidInput, MediaError, ReferencePhotoError, ReIDError
    from tools.reid.facade import LocalBackend, ReIDTool
    from tools.reid.remote.backend import RemoteBackend
    from tools.reid.schemas import AnalysisOptions, PersonSpec, ReIDRequest, ReIDResult
    from tools.reid.settings import ReIDSettings

_EXPORTS = {
    "ReIDTool": "tools.reid.facade",
    "LocalBackend": "tools.reid.facade",
    "RemoteBackend": "tools.reid.remote.backend",
    "ReIDRequest": "tools.reid.schemas",
    "PersonSpec": "tools.reid.schemas",
    "AnalysisOptions": "tools.reid.schemas",
    "ReIDResult": "tools.reid.schemas",
    "ReIDSettings": "tools.reid.settings",
    "ReIDError": "tools.reid.errors",
    "InvalidInput": "tools.reid.errors",
    "MediaError": "tools.reid.errors",
    "ReferencePhotoError": "tools.reid.errors",
    "FetchError": "tools.reid.errors",
    "EngineError": "tools.reid.errors",
}

__all__ = [
    "AnalysisOptions",
    "EngineError",
    "FetchError",
    "InvalidInput",
    "LocalBackend",
    "MediaError",
    "PersonSpec",
    "ReIDError",
    "ReIDRequest",
    "ReIDResult",
    "ReIDSettings",
    "ReIDTool",
    "ReferencePhotoError",
    "RemoteBackend",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tools.reid' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
