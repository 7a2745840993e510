"""Real servers on loopback for the service, client and remote tests (their fixtures are in
`service_fixtures`) and for ``bench/service_bench.py``.

The ReID service runs for real: in a thread of the test process (uvicorn on a socket bound
to port 0), or in a subprocess when a test must kill it. Footage and photos come from a
loopback static file server; callbacks land on a loopback receiver. Nothing of ours is
mocked; assertions poll with timeouts instead of sleeping.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from PIL import Image

from tools.reid import synth
from tools.reid.service import create_app
from tools.reid.settings import ReIDSettings

Files = list[tuple[str, tuple[str, Any] | tuple[str, Any, str]]]
"""httpx's multipart ``files``: (field, (file name, content[, content type]))."""
T = TypeVar("T")

LOOPBACK = "127.0.0.1"
API_KEY = "test-key"
CALLBACK_SECRET = "callback-secret"
ROOT = Path(__file__).resolve().parents[1]


def wait_until(probe: Callable[[], T | None], timeout_s: float = 30.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output readable."""


class _HttpServer:
    """A stdlib HTTP server on a free loopback port, served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.base_url = f"http://{LOOPBACK}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _StaticHandler(_Quiet):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.owner.served.append(parts.path)  # type: ignore[attr-defined]
        path = self.server.owner.root / parts.path.lstrip("/")  # type: ignore[attr-defined]
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StaticFiles(_HttpServer):
    """Serves the files of ``root``; ``/redirect?to=URL`` answers 302 to URL. ``served`` lists
    the paths asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.served: list[str] = []
        super().__init__(_StaticHandler)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class _CallbackHandler(_Quiet):
    def do_POST(self) -> None:
        receiver: CallbackReceiver = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = receiver.record(body, dict(self.headers.items()))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class CallbackReceiver(_HttpServer):
    """Records every callback POST; answers 500 to the first ``fail_first`` of them, 200 after."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.attempts: list[Received] = []
        self._changed = threading.Condition()
        super().__init__(_CallbackHandler)
        self.url = f"{self.base_url}/callback"

    def record(self, body: bytes, headers: dict[str, str]) -> int:
        with self._changed:
            status = 500 if len(self.attempts) < self.fail_first else 200
            self.attempts.append(Received(body, headers, status))
            self._changed.notify_all()
        return status

    def accepted(self) -> list[Received]:
        with self._changed:
            return [r for r in self.attempts if r.status == 200]

    def wait_for(self, count: int, timeout_s: float = 60.0) -> list[Received]:
        """The first ``count`` accepted callbacks, once they have arrived."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: sum(r.status == 200 for r in self.attempts) >= count, timeout=timeout_s
            )
        assert arrived, f"{len(self.accepted())} of {count} callbacks arrived within {timeout_s:g} s"
        return self.accepted()[:count]

    def payloads_by_task(self) -> dict[str, dict[str, Any]]:
        return {r.json()["task_id"]: r.json() for r in self.accepted()}


class _HangingHandler(_Quiet):
    def do_POST(self) -> None:
        receiver: HangingReceiver = self.server.owner  # type: ignore[attr-defined]
        receiver.arrived(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        receiver.released.wait(60)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HangingReceiver(_HttpServer):
    """A callback receiver that never answers (until closed): the service's attempts time out."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        super().__init__(_HangingHandler)
        self.url = f"{self.base_url}/callback"

    def arrived(self, body: bytes) -> None:
        with self._lock:
            self.bodies.append(body)

    def close(self) -> None:
        self.released.set()
        super().close()


def service_settings(folder: Path, **overrides: Any) -> ReIDSettings:
    """Settings for a test service: loopback URLs allowed, a key, a signing secret, fast retries."""
    values: dict[str, Any] = {
        "db_path": folder / "reid.db",
        "api_keys": API_KEY,
        "allow_private_urls": True,
        "callback_secret": CALLBACK_SECRET,
        "callback_backoff_s": 0.05,
        "workers": 1,
        "sample_fps": 2.0,
        "max_body_bytes": 3 * 2**20,
        "fetch_timeout_s": 20.0,
    }
    return ReIDSettings(**(values | overrides))


class ServiceThread:
    """The service in this process, so a test may stand in a fake DNS for it."""

    def __init__(self, settings: ReIDSettings) -> None:
        self.settings = settings
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        self.base_url = f"http://{LOOPBACK}:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started, 30, "the service to start")

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


_LISTENING = re.compile(r"Uvicorn running on (http://\S+)")


class ServiceProcess:
    """``python -m tools.reid.service`` in a subprocess, configured by ``REID_*`` variables."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.reid.service", "--port", "0"],
            cwd=ROOT,
            env=os.environ | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # uvicorn's access log goes to stdout: in `log` too
            text=True,
        )
        self.log: list[str] = []
        self._address: list[str] = []
        threading.Thread(target=self._read_log, daemon=True).start()
        self.base_url = wait_until(
            lambda: self._address[0] if self._address else None, 60, "the service process to listen"
        )

    def _read_log(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.log.append(line)
            if match := _LISTENING.search(line):
                self._address.append(match.group(1))

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self, signum: int, timeout_s: float = 30) -> int:
        """Send ``signum`` (SIGTERM, SIGINT) and wait for the process to end; its exit code."""
        self._process.send_signal(signum)
        return self._process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power or the OOM killer strikes."""
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=30)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def connect(base_url: str) -> socket.socket:
    """A raw TCP connection to a loopback server, for requests httpx would not send."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=15)


def read_until_closed(sock: socket.socket, timeout_s: float = 15) -> bytes:
    """Everything the server sends until it closes the connection (b"" when it closes without
    a word, or resets it); a server still holding it open after ``timeout_s`` fails the test."""
    sock.settimeout(timeout_s)
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open; it sent {received!r}") from None
        if not chunk:
            return received
        received += chunk


def settings_env(settings: ReIDSettings) -> dict[str, str]:
    """The ``REID_*`` variables that give a subprocess these settings."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"REID_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass(frozen=True)
class Footage:
    """Files the static server offers, by name, and their local paths."""

    server: StaticFiles

    def url(self, name: str) -> str:
        return self.server.url(name)

    def path(self, name: str) -> Path:
        return self.server.root / name


def write_footage(folder: Path) -> None:
    """A 5 s 320x240 clip (the astronaut 0.5-2.5 s, Grace Hopper 2.5-4.5 s), photos of both,
    an image showing the astronaut, and unusable files."""
    synth.write_clip(
        folder / "alice_then_bob.mp4",
        [
            synth.Actor(synth.astronaut_portrait(), 0.5, 2.5, synth.still(0.35)),
            synth.Actor(synth.hopper_portrait(), 2.5, 4.5, synth.still(0.65)),
        ],
        5.0,
        size=(320, 240),
    )
    synth.astronaut().save(folder / "alice.jpg")
    synth.grace_hopper().save(folder / "bob.jpg")
    synth.astronaut().save(folder / "alice.png")
    scene = Image.new("RGB", (640, 360), (52, 58, 66))
    scene.paste(synth.astronaut_portrait().resize((180, 218)), (230, 70))
    scene.save(folder / "test_image.png")
    Image.new("RGB", (300, 300), (128, 128, 128)).save(folder / "grey.png")
    (folder / "notes.png").write_text("these are meeting notes, not a photo")
    (folder / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(40_000))


def submit_image(api: httpx.Client, footage: Footage, callback: str) -> str:
    """An image task by URL whose result is owed to ``callback``; its task id."""
    body = {
        "url": footage.url("test_image.png"),
        "user_prompt": "?",
        "callback": callback,
        "persons": [{"name": "Alice", "url": footage.url("alice.jpg")}],
    }
    return str(envelope(api.post("/v1/understand/uploadImg", json=body))["data"]["task_id"])


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The JSON envelope of an answer, which is always HTTP 200."""
    assert response.status_code == 200, response.text
    return response.json()
