"""The embedded ReID engine: decode, detect, embed, track, match, caption, and the pictures
(keyframes, timeline).

It knows nothing of HTTP, Slack or LangChain; every surface reaches it through the facade.
"""

from tools.reid.engine.analyze import analyze
from tools.reid.engine.crops import render_unknown_crops
from tools.reid.engine.decode import frames_at, probe
from tools.reid.engine.keyframes import draw_moment, drawn_moments, render_keyframes
from tools.reid.engine.parallel import shutdown_pool
from tools.reid.engine.timeline import render_timeline, timeline_image
from tools.reid.limits import Limits

__all__ = [
    "Limits",
    "analyze",
    "draw_moment",
    "drawn_moments",
    "frames_at",
    "probe",
    "render_keyframes",
    "render_timeline",
    "render_unknown_crops",
    "shutdown_pool",
    "timeline_image",
]
