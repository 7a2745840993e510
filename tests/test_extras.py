"""Extras: a missing one is named with its pip command, and the default path loads none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from installs import extra_distributions, extra_modules, imported

from tools.reid.errors import InvalidInput, MissingExtra
from tools.reid.extras import FEATURES, require


def test_a_missing_extra_names_its_pip_install() -> None:
    require("service", "fastapi", "uvicorn")  # installed here: nothing to say
    with pytest.raises(MissingExtra) as raised:
        require("service", "fastapi", "reid_no_such_module")
    assert (
        str(raised.value)
        == 'reid serve (the HTTP service) needs the "service" extra: pip install "reid-footage[service]"'
    )
    assert isinstance(raised.value, InvalidInput) and isinstance(raised.value, ImportError)


def test_every_extra_of_pyproject_has_a_message() -> None:
    assert set(FEATURES) == set(extra_distributions())


def test_a_default_analysis_loads_no_extra(photos: dict[str, Path]) -> None:
    """Every extra is installed in the developer's venv; the default engine must still import none."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tools.reid.cli", "analyze", str(photos["pair"])]
        + ["-p", f"Eileen={photos['eileen']}", "-p", f"Grace={photos['grace']}", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    owners = extra_modules()
    loaded = {module: owners[module] for module in imported(done.stderr) if module in owners}
    assert loaded == {}, f"a default analysis imported modules of extras: {loaded}"
