"""The embedded ReID engine: decode, detect, embed, track, match, caption, keyframes.

It knows nothing of HTTP, Slack or LangChain; every surface reaches it through the facade.
"""

from tools.reid.engine.analyze import analyze
from tools.reid.engine.keyframes import render_keyframes
from tools.reid.engine.limits import Limits

__all__ = ["Limits", "analyze", "render_keyframes"]
