"""The embedded ReID engine: decode, detect, embed, track, match, caption, keyframes.

It knows nothing of HTTP, Slack or LangChain; every surface reaches it through the facade.
"""

from tools.reid.engine.analyze import analyze
from tools.reid.engine.keyframes import render_keyframes
from tools.reid.engine.limits import Limits
from tools.reid.engine.parallel import shutdown_pool

__all__ = ["Limits", "analyze", "render_keyframes", "shutdown_pool"]
