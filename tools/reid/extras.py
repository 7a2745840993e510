"""Which optional extra a feature needs, checked before its packages are imported.

The core install (``pip install reid-footage``) is the engine, ``reid analyze``, the Python API
and the httpx client; the service, the bot, the agent tool, the demo and some engine options
live in extras (see pyproject.toml). Asking for one that is not installed raises
`MissingExtra`, which the CLI turns into exit code 2 and one line with the pip command,
instead of a traceback about a module name the user never heard of.
"""

from __future__ import annotations

from importlib.util import find_spec

from tools.reid.errors import MissingExtra

FEATURES = {
    "service": "reid serve (the HTTP service)",
    "slack": "reid bot (the Slack bot)",
    "agent": "the LangChain tool",
    "llm": "captions written by a language model (REID_CAPTION_MODEL, --caption-model)",
    "dlib": "a dlib option (--detector hog or cnn, --descriptor dlib)",
    "blazeface": "the BlazeFace detector",
    "cluster": "the distributed runner",
    "demo": "reid demo",
}
"""What each extra brings, in the words of the error message."""


def require(extra: str, *modules: str) -> None:
    """Raise `MissingExtra` unless every top-level module of ``extra`` can be imported.

    Only looks the modules up (nothing is imported), so checking is free when they are there.
    """
    if any(find_spec(module) is None for module in modules):
        raise missing(extra)


def missing(extra: str) -> MissingExtra:
    """The error for ``extra`` not being installed, for a module that found out by importing."""
    return MissingExtra(extra, FEATURES[extra])
