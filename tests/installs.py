"""What the extras hold, read from pyproject.toml, and which modules a process imported.

Shared by the test that a default analysis loads no extra (in the developer's venv, where every
extra is installed) and by the install check (in a fresh venv of the core alone).
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, PackagePath, distribution
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT = "reid-footage"
NOT_SURFACES = {"test", "all"}
"""Extras that are not a surface of the product: the test tools, and the union of the others."""
EVERY_VENV = {"pip", "setuptools"}
"""In every fresh Python 3.11 venv (setuptools' .pth imports ``_distutils_hack`` at start-up)."""

_NAME = re.compile(r"^[A-Za-z0-9._-]+")
_SELF = re.compile(rf"^{PROJECT}\[([^\]]+)\]")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_distributions() -> dict[str, set[str]]:
    """Each surface extra -> the distributions it adds to the core (self-references followed;
    a core package an extra asks a newer version of is not its own)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = {_name(requirement) for requirement in project["dependencies"]} | EVERY_VENV

    def expand(extra: str) -> set[str]:
        names: set[str] = set()
        for requirement in extras[extra]:
            included = _SELF.match(requirement)
            if included:
                for other in included.group(1).split(","):
                    names |= expand(other.strip())
            else:
                names.add(_name(requirement))
        return names

    return {extra: expand(extra) - core for extra in extras if extra not in NOT_SURFACES}


def extra_modules() -> dict[str, str]:
    """Top-level module -> the extra that installs it, for the extras' distributions installed here."""
    owners: dict[str, str] = {}
    # Smallest extra last, so a module of the service is named "service" rather than "slack".
    for extra, dists in sorted(extra_distributions().items(), key=lambda item: -len(item[1])):
        for dist in dists:
            try:
                files = distribution(dist).files or []
            except PackageNotFoundError:
                continue
            owners |= {module: extra for module in _top_level_modules(files)}
    return owners


def _top_level_modules(files: list[PackagePath]) -> set[str]:
    """Importable top-level names among a distribution's installed files."""
    names = set()
    for file in files:
        top = file.parts[0]
        if len(file.parts) > 1 and top.isidentifier():
            names.add(top)
        elif len(file.parts) == 1 and file.suffix in (".py", ".so"):
            names.add(top.split(".")[0])
    return names - {"__pycache__"}


def _name(requirement: str) -> str:
    match = _NAME.match(requirement)
    assert match is not None, f"not a requirement: {requirement!r}"
    return canonical(match.group(0))


def imported(importtime_stderr: str) -> set[str]:
    """Top-level modules a ``python -X importtime`` run imported, from its stderr."""
    modules = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":
                modules.add(name.split(".")[0])
    return modules
