"""Image bombs (issue 10, item 1): a small file whose header claims a huge picture is refused
from its header, before a pixel is decoded, on every way in: media and reference photos on the
command line, multipart uploads and URLs on the service. The Slack bot's case is in
test_bot_hardening.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import pytest
from bombs import jpeg_claiming, png_of
from loopback import API_KEY, ROOT, Files, Footage, ServiceProcess, envelope, service_settings, settings_env

from tools.reid.engine.decode import load_image, probe
from tools.reid.errors import MediaError
from tools.reid.limits import Limits

pytest_plugins = ["service_fixtures"]

GiB = 2**30
BOMBS = {
    "jpeg 60000x60000": ("bomb.jpg", lambda: jpeg_claiming(60000, 60000)),
    "png 20000x20000": ("bomb.png", lambda: png_of(20000, 20000)),
    "png 12000x12000": ("big.png", lambda: png_of(12000, 12000)),
}
"""Over Pillow's own guard (~179 MP) twice, and between it and our 40 MP default once."""


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for case, (name, build) in BOMBS.items():
        paths[case] = folder / name
        paths[case].write_bytes(build())
    return paths


@pytest.mark.parametrize("case", BOMBS)
def test_engine_refuses_from_the_header(bombs: dict[str, Path], case: str) -> None:
    path = bombs[case]
    with pytest.raises(MediaError, match="megapixels"):
        probe(path, Limits())
    with pytest.raises(MediaError, match="megapixels"):
        load_image(path)
    with pytest.raises(MediaError, match="megapixels"):
        load_image(path.read_bytes())


def test_the_configured_limit_applies(bombs: dict[str, Path], photos: dict[str, Path]) -> None:
    """REID_MAX_PIXELS is the limit, not a fixed number: a 512x512 photo passes 1 MP, not 0.1 MP."""
    assert load_image(photos["eileen"], max_pixels=1_000_000).shape[:2] == (512, 512)
    with pytest.raises(MediaError, match="the limit is 0 megapixels"):
        load_image(photos["eileen"], max_pixels=100_000)
    assert probe(photos["eileen"], Limits(max_pixels=1_000_000)).width == 512


class PeakMemory:
    """The peak resident memory of a process and its children, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._watched = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            try:
                members = [self._watched, *self._watched.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in members))
            except psutil.Error:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.peak


def _run_measured(args: list[str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """``python -m tools.reid.cli ARGS`` and the peak resident memory of it and its children."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.reid.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"REID_WORKERS": "1"},
    )
    memory = PeakMemory(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), memory.stop()


@pytest.mark.parametrize("case", ["jpeg 60000x60000", "png 12000x12000"])
def test_cli_refuses_a_bomb_as_media_or_reference(bombs: dict[str, Path], photos: dict[str, Path], case: str) -> None:
    for args in (
        ["analyze", str(bombs[case]), "-p", f"Grace={photos['grace']}"],
        ["analyze", str(photos["grace"]), "-p", f"Grace={bombs[case]}"],
    ):
        done, peak = _run_measured(args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "megapixels" in done.stderr, done.stderr
        assert bombs[case].name in done.stderr
        assert peak < GiB, f"{peak / GiB:.2f} GiB"


@pytest.mark.parametrize("case", BOMBS)
def test_service_answers_0001_for_an_uploaded_bomb(
    api: httpx.Client, footage: Footage, bombs: dict[str, Path], case: str
) -> None:
    name = bombs[case].name
    req = json.dumps({"user_prompt": "Who?", "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}]})
    files: Files = [
        ("req", ("req.json", req, "application/json")),
        ("file", (name, bombs[case].read_bytes(), "image/png")),
    ]
    answer = envelope(api.post("/v1/understand/uploadImg", files=files))
    assert answer["code"] == "0001" and "megapixels" in answer["msg"], answer
    assert name in answer["msg"] and "00-image" not in answer["msg"]
    assert api.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("case", BOMBS)
def test_service_answers_0001_for_a_bomb_by_url(
    api: httpx.Client, footage: Footage, bombs: dict[str, Path], case: str
) -> None:
    name = f"url-{bombs[case].name}"
    footage.path(name).write_bytes(bombs[case].read_bytes())
    for image, photo in ((name, "alice.jpg"), ("test_image.png", name)):
        body = {"url": footage.url(image), "user_prompt": "?", "persons": [{"name": "A", "url": footage.url(photo)}]}
        answer = envelope(api.post("/v1/understand/uploadImg", json=body))
        assert answer["code"] == "0001" and "megapixels" in answer["msg"], answer
    assert api.get("/healthz").json() == {"status": "ok"}


def test_a_service_process_stays_small_through_bombs(tmp_path: Path, footage: Footage, bombs: dict[str, Path]) -> None:
    """The service in its own process, sent every bomb by upload: it answers 0001 each time and
    its memory stays under 1 GiB (a 60000x60000 JPEG upload once took it down at 4 GB)."""
    service = ServiceProcess(settings_env(service_settings(tmp_path, max_body_bytes=16 * 2**20)))
    memory = PeakMemory(service.pid)
    try:
        req = json.dumps({"user_prompt": "Who?", "persons": [{"name": "A", "url": footage.url("alice.jpg")}]})
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            for path in bombs.values():
                files: Files = [
                    ("req", ("req.json", req, "application/json")),
                    ("file", (path.name, path.read_bytes())),
                ]
                answer = envelope(api.post("/v1/understand/uploadImg", files=files))
                assert answer["code"] == "0001" and "megapixels" in answer["msg"], answer
    finally:
        peak = memory.stop()
        service.close()
    assert peak < GiB, f"{peak / GiB:.2f} GiB"
