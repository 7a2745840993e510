"""Fixtures shared by the whole suite: reference photos and clips built from package-shipped
portraits, and the real photos of ../shared/fixtures/faces when that folder is present."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from loopback import StaticFiles

from tools.reid import synth

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "faces"


@pytest.fixture(scope="session", autouse=True)
def _state_in_a_scratch_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every `reid` process the tests start keeps its gallery and audit log (REID_DB_PATH) in a
    scratch folder, not in the checkout."""
    previous = os.environ.get("REID_DB_PATH")
    os.environ["REID_DB_PATH"] = str(tmp_path_factory.mktemp("state") / "reid.db")
    yield
    if previous is None:
        os.environ.pop("REID_DB_PATH", None)
    else:
        os.environ["REID_DB_PATH"] = previous


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reference photos: the astronaut (Eileen Collins) and Grace Hopper, plus unusable ones."""
    folder = tmp_path_factory.mktemp("photos")
    paths = {"eileen": folder / "eileen.png", "grace": folder / "grace.jpg"}
    synth.astronaut().save(paths["eileen"])
    synth.grace_hopper().save(paths["grace"])
    from PIL import Image

    paths["blank"] = folder / "blank.png"
    Image.new("RGB", (400, 400), (128, 128, 128)).save(paths["blank"])
    paths["pair"] = folder / "pair.jpg"
    pair = Image.new("RGB", (800, 512), (90, 90, 90))
    pair.paste(synth.astronaut(), (0, 0))
    pair.paste(synth.grace_hopper().resize((256, 300)), (530, 100))  # faces of about the same size
    pair.save(paths["pair"])
    paths["text"] = folder / "notes.jpg"
    paths["text"].write_text("this is not an image")
    return paths


ClipMaker = Callable[..., Path]


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> ClipMaker:
    """Builds (once per name) an MP4 of actors over a plain background."""
    folder = tmp_path_factory.mktemp("clips")

    def make(name: str, actors: Sequence[synth.Actor], duration_s: float, **kwargs: object) -> Path:
        path = folder / f"{name}.mp4"
        if not path.exists():
            synth.write_clip(path, actors, duration_s, **kwargs)  # type: ignore[arg-type]
        return path

    return make


@pytest.fixture(scope="session")
def two_people_clip(make_clip: ClipMaker) -> Path:
    """Eileen 1-5 s gliding right; Grace 3-7 s on the right; together 3-5 s. 8 s, 640x360."""
    return make_clip(
        "two_people",
        [
            synth.Actor(synth.astronaut_portrait(), 1.0, 5.0, synth.glide(0.2, 0.4, 4.0)),
            synth.Actor(synth.hopper_portrait(), 3.0, 7.0, synth.still(0.78, height=0.5)),
        ],
        8.0,
    )


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minute of the astronaut: long enough that the engine spreads it over its helper threads."""
    path = tmp_path_factory.mktemp("long") / "minute.mp4"
    synth.write_clip(
        path, [synth.Actor(synth.astronaut_portrait(), 0.0, 60.0, synth.still(0.4))], 60.0, size=(320, 240)
    )
    return path


@pytest.fixture(scope="session")
def grace_twice(make_clip: ClipMaker) -> Path:
    """Eileen 0.5-4 s; Grace 1-4 s, then a cut at 5 s to another shot where Grace is back
    6-9.5 s: asked for Eileen only, Grace is an unknown person seen in two shots. 10 s, 640x360."""
    return make_clip(
        "grace_twice",
        [
            synth.Actor(synth.astronaut_portrait(), 0.5, 4.0, synth.still(0.25, height=0.5)),
            synth.Actor(synth.hopper_portrait(), 1.0, 4.0, synth.still(0.75, height=0.45)),
            synth.Actor(synth.hopper_portrait(), 6.0, 9.5, synth.glide(0.3, 0.6, 3.5, height=0.4)),
        ],
        10.0,
        cuts=[(5.0, (120, 96, 80))],
    )


@pytest.fixture
def two_people_clip_url(two_people_clip: Path) -> Iterator[str]:
    """The `two_people_clip` served over loopback HTTP: its URL."""
    server = StaticFiles(two_people_clip.parent)
    yield server.url(two_people_clip.name)
    server.close()


@pytest.fixture
def shared_faces() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.skip(f"real face photos not present: {SHARED_FACES} (the ../shared checkout) is absent")
    return SHARED_FACES


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write: a read-only mount as root (who ignores modes), else mode 0500."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"root ignores file modes, and a read-only mount failed: {mounted.stderr.decode().strip()}")
        yield folder
        subprocess.run(["umount", "-l", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
