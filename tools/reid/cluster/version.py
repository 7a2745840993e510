"""What "the same version of the project" means between a client and its Dask workers."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path

DISTRIBUTION = "reid-footage"


@lru_cache(maxsize=1)
def project_version() -> str:
    """The installed version plus a digest of the engine's source files.

    The digest catches what a version number misses: two checkouts of the same release with
    different engine code would give different answers, so they must not share a cluster.
    """
    try:
        release = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        release = "unreleased"
    spec = util.find_spec("tools.reid.engine")
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    digest = hashlib.sha256()
    for source in sorted(folder.glob("*.py")) if folder else []:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return f"{release}+engine.{digest.hexdigest()[:12]}"
