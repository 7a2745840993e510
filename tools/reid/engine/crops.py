"""Face crops of the unknown people: one small JPEG each, so a person can recognise them.

Each crop is the person's clearest face (`UnknownPerson.keyframe`) with half its size again on
every side, decoded again from the media (analysis keeps no frames), scaled to ``CROP_PX``
high. A crop shows a face of someone nobody has named: it lives as long as the pictures of the
answer it belongs to.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tools.reid.engine.decode import frame_at
from tools.reid.schemas import Box, ReIDResult

CROP_PX = 192
CROP_MARGIN = 0.5
JPEG_QUALITY = 88


def render_unknown_crops(media: Path, result: ReIDResult, out_dir: Path) -> list[Path]:
    """Writes a face crop per unknown person of ``result`` into ``out_dir``; returns the paths
    in the order of ``result.unknown_people``."""
    if not result.unknown_people:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for person in result.unknown_people:
        frame = Image.fromarray(frame_at(media, person.keyframe.time))
        path = out_dir / person.crop_file_name
        face_crop(frame, person.keyframe.box).save(path, "JPEG", quality=JPEG_QUALITY)
        written.append(path)
    return written


def face_crop(frame: Image.Image, box: Box) -> Image.Image:
    """The face in ``box`` with a margin, clipped to the frame, ``CROP_PX`` high."""
    left, top, right, bottom = box
    pad = CROP_MARGIN * max(right - left, bottom - top)
    area = (
        max(0, round(left - pad)),
        max(0, round(top - pad)),
        min(frame.width, round(right + pad)),
        min(frame.height, round(bottom + pad)),
    )
    crop = frame.crop(area)
    return crop.resize((max(1, round(crop.width * CROP_PX / crop.height)), CROP_PX), Image.Resampling.LANCZOS)
