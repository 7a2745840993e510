"""The embedded ReID engine: decode, detect, embed, track, match, caption, and the pictures
(keyframes, timeline).

It knows nothing of HTTP, Slack or LangChain; every surface reaches it through the facade.
"""

from tools.reid.engine.analyze import analyze
from tools.reid.engine.crops import render_unknown_crops
from tools.reid.engine.decode import probe
from tools.reid.engine.keyframes import drawn_moments, render_keyframes
from tools.reid.engine.parallel import shutdown_pool
from tools.reid.engine.timeline import render_timeline, timeline_image
from tools.reid.limits import Limits

__all__ = [
    "Limits",
    "analyze",
    "drawn_moments",
    "probe",
    "render_keyframes",
    "render_timeline",
    "render_unknown_crops",
    "shutdown_pool",
    "timeline_image",
]
