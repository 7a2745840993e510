# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""Nothing left behind after a crash (issue 22, item 3): `reid serve` and `reid bot`, each busy
with a video on two cores, are killed with SIGKILL (and the service also stopped with
SIGTERM). Their engine workers die with them; their downloads were in a private folder (0700,
files 0600) under the data folder, never in the system temp folder, and the next start deletes
what the dead process left. Every process runs with its own TMPDIR, read back afterwards."""

from __future__ import annotations

import json
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import Media, mention_payload
from bot_process import BotServer
from fakes.slack import BOT_USER_ID, FakeSlack
from loopback import API_KEY, CallbackReceiver, Footage, ServiceProcess, envelope, service_settings, settings_env
from processes import assert_all_gone, busy_descendants

pytest_plugins = ["service_fixtures", "bot_fixtures"]


def _files(root: Path) -> list[Path]:
    """The files under ``root`` but the (empty) lock files of the work folders."""
    return [path for path in root.rglob("*") if path.is_file() and not path.name.endswith((".lock", ".sweep"))]


def _assert_private(root: Path) -> None:
    """Every folder under ``root`` 0700, every file 0600."""
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {mode:o}"


def _process_folders(root: Path) -> set[str]:
    return {path.name for path in root.iterdir() if path.is_dir()}


@pytest.fixture
def system_temp(tmp_path: Path) -> Path:
    folder = tmp_path / "system-temp"
    folder.mkdir()
    return folder


class _Service:
    """``reid serve`` processes on one data folder, with their own TMPDIR."""

    def __init__(self, folder: Path, system_temp: Path) -> None:
        settings = service_settings(folder, workers=2, max_concurrent_tasks=1, max_body_bytes=64 * 2**20)
        self.env = settings_env(settings) | {"TMPDIR": str(system_temp)}
        self.work = folder / "reid.db.work"
        self.uploads = folder / "reid.db.uploads"
        self.started: list[ServiceProcess] = []

    def start(self) -> ServiceProcess:
        self.started.append(ServiceProcess(self.env))
        return self.started[-1]

    def close(self) -> None:
        for process in self.started:
            process.close()


@pytest.fixture
def services(tmp_path: Path, system_temp: Path) -> Iterator[_Service]:
    running = _Service(tmp_path, system_temp)
    yield running
    running.close()


def _submit(service: ServiceProcess, footage: Footage, receiver: CallbackReceiver) -> None:
    """A minute of video by URL (running), and an uploaded photo with its reference (queued)."""
    with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
        video = {
            "video_url": footage.url("minute.mp4"),
            "user_prompt": "?",
            "system_prompt": "-",
            "callback": receiver.url,
            "persons": [{"name": "Eileen", "url": footage.url("alice.jpg")}],
        }
        assert envelope(api.post("/v1/understand/upload", json=video))["code"] == "0000"
        files = [
            (
                "req",
                ("req.json", json.dumps({"user_prompt": "?", "callback": receiver.url}).encode(), "application/json"),
            ),
            ("file", ("scene.png", footage.path("test_image.png").read_bytes(), "image/png")),
            ("file", ("eileen.png", footage.path("alice.png").read_bytes(), "image/png")),
        ]
        assert envelope(api.post("/v1/understand/uploadImg", files=files))["code"] == "0000"


def test_a_killed_service_leaves_no_worker_and_its_files_are_swept(
    services: _Service, footage: Footage, long_clip: Path, receiver: CallbackReceiver, system_temp: Path
) -> None:
    footage.path("minute.mp4").write_bytes(long_clip.read_bytes())
    first = services.start()
    _submit(first, footage, receiver)
    descendants = busy_descendants(first.pid)
    (dead_folder,) = _process_folders(services.work)
    assert any(path.suffix == ".mp4" for path in _files(services.work)), "the footage is in the work folder"
    assert _files(services.uploads), "the upload is spooled"
    _assert_private(services.work)
    _assert_private(services.uploads)

    first.kill()
    assert_all_gone(descendants, timeout_s=10)
    assert not list(system_temp.iterdir()), "nothing of the service is in the system temp folder"

    second = services.start()
    assert dead_folder not in _process_folders(services.work), "the dead service's folder is swept"
    receiver.wait_for(2, timeout_s=240)  # both tasks resume and end
    second.stop(signal.SIGTERM)
    assert not _files(services.work) and not _files(services.uploads)
    assert not list(system_temp.iterdir())


def test_a_stopped_service_leaves_no_file(
    services: _Service, footage: Footage, long_clip: Path, receiver: CallbackReceiver, system_temp: Path
) -> None:
    """SIGTERM mid-analysis: the task waits, queued, and its downloads are gone."""
    footage.path("minute.mp4").write_bytes(long_clip.read_bytes())
    service = services.start()
    _submit(service, footage, receiver)
    descendants = busy_descendants(service.pid)
    service.stop(signal.SIGTERM)
    assert_all_gone(descendants)
    assert not _files(services.work)
    assert not list(system_temp.iterdir())


def test_a_killed_bot_leaves_no_worker_and_its_downloads_are_swept(
    fake: FakeSlack, tmp_path: Path, long_clip: Path, media: Media, system_temp: Path
) -> None:
    work = tmp_path / "bot.reid.db.work"
    bot = BotServer(fake, tmp_path, REID_WORKERS="2", TMPDIR=str(system_temp))
    try:
        files = [
            fake.add_file("minute.mp4", long_clip.read_bytes(), "video/mp4", "mp4"),
            fake.add_file("eileen.png", media.alice_png, "image/png", "png"),
        ]
        bot.deliver(mention_payload(fake, f"<@{BOT_USER_ID}> is she here?", files))
        descendants = busy_descendants(bot.process.pid)
        (dead_folder,) = _process_folders(work)
        assert {path.suffix for path in _files(work)} == {".mp4", ".png"}
        _assert_private(work)
        bot.process.kill()
        bot.process.wait(timeout=30)
        assert_all_gone(descendants, timeout_s=10)
    finally:
        bot.close()
    assert not list(system_temp.iterdir())

    again = BotServer(fake, tmp_path, REID_WORKERS="2", TMPDIR=str(system_temp))
    try:
        assert dead_folder not in _process_folders(work), "the dead bot's downloads are swept"
    finally:
        again.close()
