"""A person's name from a photo's file name, for when nobody typed one.

Names people type are kept exactly (hyphens, apostrophes, accents, capitals). Only a bare
file name is cleaned up, and only where it is machine-made: the extension goes; a name with
spaces was typed as a name and stays (``Lin-Manuel Miranda.png``); otherwise ``_`` and ``.``
separate words (``jane_doe.jpg`` -> ``Jane Doe``, ``Jean-Luc_Picard.jpg`` -> ``Jean-Luc
Picard``), and so do hyphens in an all-lowercase slug (``lin-manuel-miranda.png`` -> ``Lin
Manuel Miranda``: a slug cannot say which hyphens were part of the name); an all-lowercase
name gets capitals. The CLI (``--person photo.jpg``) and the Slack bot share this rule.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

MAX_NAME_CHARS = 80
FILE_SUFFIXES = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif"}
    | {"mp4", "mov", "m4v", "mkv", "webm", "avi", "mpg", "mpeg", "wmv", "flv", "3gp", "ts"}
)
"""Photo and video extensions; another dot (``J. Smith``) is part of the name."""
_SEPARATORS = re.compile(r"[_.]+")
_SLUG_SEPARATORS = re.compile(r"[-_.]+")
_WORD_START = re.compile(r"(^|[\s'’])(\w)")


def name_from_file(file_name: str) -> str:
    """The person a photo's file name (or URL path) names; ``""`` when nothing is left."""
    path = PurePosixPath(file_name.rsplit("/", 1)[-1].split("?", 1)[0])
    stem = path.stem if path.suffix.lower().lstrip(".") in FILE_SUFFIXES else path.name
    stem = stem.strip()
    if " " not in stem:
        separators = _SEPARATORS if _SEPARATORS.search(stem) or not stem.islower() else _SLUG_SEPARATORS
        stem = separators.sub(" ", stem)
    words = " ".join(stem.split())
    if words == words.lower():
        words = _WORD_START.sub(lambda m: m[1] + m[2].upper(), words)
    return words[:MAX_NAME_CHARS]
