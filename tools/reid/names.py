"""A person's name from a photo's file name, for when nobody typed one.

Names people type are kept exactly (hyphens, apostrophes, accents, capitals). Only a bare
file name is cleaned up: the extension goes; a name without spaces is a slug, so its
separators become spaces (``jane_doe.jpg`` -> ``Jane Doe``, ``lin-manuel-miranda.png`` ->
``Lin Manuel Miranda``: a slug cannot say which hyphens were part of the name), while one
with spaces was typed as a name and stays (``Lin-Manuel Miranda.png``); an all-lowercase
name gets capitals.
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
_SEPARATORS = re.compile(r"[\s_.-]+")
_WORD_START = re.compile(r"(^|[\s'’])(\w)")


def name_from_file(file_name: str) -> str:
    """The person a photo's file name (or URL path) names; ``""`` when nothing is left."""
    path = PurePosixPath(file_name.rsplit("/", 1)[-1].split("?", 1)[0])
    stem = path.stem if path.suffix.lower().lstrip(".") in FILE_SUFFIXES else path.name
    words = stem.strip() if " " in stem.strip() else _SEPARATORS.sub(" ", stem).strip()
    if words == words.lower():
        words = _WORD_START.sub(lambda m: m[1] + m[2].upper(), words)
    return words[:MAX_NAME_CHARS]
