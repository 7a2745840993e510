"""The memories.ai-compatible HTTP service over the local engine (``reid serve``)."""

from tools.reid.service.app import create_app, serve

__all__ = ["create_app", "serve"]
