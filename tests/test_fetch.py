"""Safe fetching, against a real HTTP server on loopback.

Tests that need "the public internet" give the server a fake public name: `fake_dns` makes
``public.test`` resolve to 127.0.0.1 and lets the policy treat exactly that address as public,
so the real resolver call, policy, redirect handling and address pinning all still run.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
import pytest
from PIL import Image

from tools.reid.errors import FetchError
from tools.reid.fetch import policy, sniff
from tools.reid.fetch.download import afetch_to_file, fetch_to_file
from tools.reid.fetch.policy import check_url, redact_url
from tools.reid.fetch.sniff import sniff_kind

LOOPBACK = ipaddress.ip_address("127.0.0.1")
HTML = b"<!DOCTYPE html><html><body>Please sign in</body></html>"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 200, 30)).save(out, format="JPEG")
    return out.getvalue()


def _video(container: str) -> bytes:
    """A two-frame 32x32 clip written by FFmpeg, so the container headers are the real ones."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for shade in (0, 255):
            pixels = np.full((32, 32, 3), shade, dtype=np.uint8)
            muxer.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        muxer.mux(stream.encode(None))
    return out.getvalue()


PNG = _png()
MP4 = _video("mp4")


# --- The test server --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.seen.append((parts.path, self.headers["Host"]))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = ROUTES.get(parts.path)
        if route is None:
            self._reply(404, b"no such file")
        else:
            route(self, query)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _head(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on `server.seen` instead."""


def _file(body: bytes) -> Callable[[_Handler, dict[str, str]], None]:
    return lambda handler, _query: handler._reply(200, body)


def _redirect(handler: _Handler, query: dict[str, str]) -> None:
    handler._reply(302, b"", {"Location": query["to"]})


def _hops(handler: _Handler, query: dict[str, str]) -> None:
    """``/hops?n=3`` redirects three times (relative Locations), then serves the PNG."""
    left = int(query["n"])
    if left == 0:
        handler._reply(200, PNG)
    else:
        handler._reply(302, b"", {"Location": f"/hops?n={left - 1}"})


def _chunked(handler: _Handler, _query: dict[str, str]) -> None:
    """10 kB with no Content-Length: only counting the bytes can catch it."""
    handler._head({"Transfer-Encoding": "chunked"})
    for _ in range(10):
        handler.wfile.write(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def _trickle(handler: _Handler, _query: dict[str, str]) -> None:
    """A byte every 20 ms: no single read ever times out, only a total deadline stops it."""
    handler._head({"Content-Length": "100000"})
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.02)
    except OSError:
        return  # the client gave up, as it should


def _stall(handler: _Handler, _query: dict[str, str]) -> None:
    handler._head({"Content-Length": "1000"})
    handler.wfile.write(PNG[:10])
    handler.wfile.flush()
    time.sleep(3)


ROUTES: dict[str, Callable[[_Handler, dict[str, str]], None]] = {
    "/photo.png": _file(PNG),
    "/clip.mp4": _file(MP4),
    "/signin": _file(HTML),
    "/empty": _file(b""),
    "/big": _file(b"x" * 10_000),
    "/chunked": _chunked,
    "/redirect": _redirect,
    "/hops": _hops,
    "/trickle": _trickle,
    "/stall": _stall,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str]] = []
        self.port = self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: clients hanging up mid-body is what several tests provoke."""


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``public.test`` is the loopback server seen as a public host; ``private.test`` is 10.x.

    Returns the names looked up, in order.
    """
    names = {"public.test": LOOPBACK, "private.test": ipaddress.ip_address("10.0.0.7")}
    lookups: list[str] = []
    real_resolve, real_problem = policy.resolve_host, policy.address_problem

    def resolve(host: str, port: int) -> list[policy.IPAddress]:
        lookups.append(host)
        return [names[host]] if host in names else real_resolve(host, port)

    monkeypatch.setattr(policy, "resolve_host", resolve)
    monkeypatch.setattr(policy, "address_problem", lambda ip: None if ip == LOOPBACK else real_problem(ip))
    return lookups


def _get(url: str, dest: Path, **kwargs: object) -> Path:
    options: dict[str, object] = {"max_bytes": 1_000_000, "timeout_s": 5.0, "allow_private": True}
    return fetch_to_file(url, dest, **{**options, **kwargs})  # type: ignore[arg-type]


# --- Address policy ---------------------------------------------------------------------------


def test_loopback_refused_unless_private_allowed(server: _Server, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.port}/photo.png"
    with pytest.raises(FetchError, match="loopback.*REID_ALLOW_PRIVATE_URLS"):
        _get(url, tmp_path, allow_private=False)
    assert server.seen == []

    path = _get(url, tmp_path, allow_private=True, expect="image")
    assert path.read_bytes() == PNG
    assert path.parent == tmp_path


@pytest.mark.parametrize(
    ("host", "label"),
    [
        ("169.254.169.254", "cloud metadata service"),
        ("[fd00:ec2::254]", "cloud metadata service"),
        ("[::1]", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("[fc00::1]", "private"),
        ("169.254.10.1", "link-local"),
        ("[fe80::1]", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:10.0.0.1]", "private"),
        ("[64:ff9b::a9fe:a9fe]", "cloud metadata service"),
        ("2130706433", "loopback"),  # 127.0.0.1 spelled as one number
    ],
)
def test_non_public_addresses_refused(host: str, label: str) -> None:
    with pytest.raises(FetchError, match=rf"non-public \({label}"):
        check_url(f"http://{host}/latest/meta-data/", allow_private=False)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700:4700::1111]"])
def test_public_address_literals_pass(host: str) -> None:
    check_url(f"https://{host}/clip.mp4", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http:// and https://"),
        ("ftp://example.com/clip.mp4", "only http:// and https://"),
        ("example.com/clip.mp4", "only http:// and https://"),
        ("http:///clip.mp4", "no host"),
    ],
)
def test_bad_schemes_and_hostless_urls_refused(url: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        check_url(url, allow_private=True)


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*_args: object, **_kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(FetchError, match="could not resolve host 'nowhere.example'"):
        check_url("https://nowhere.example/a.mp4", allow_private=True)


def test_redirect_to_private_address_refused(server: _Server, tmp_path: Path, fake_dns: list[str]) -> None:
    for target in (f"http://private.test:{server.port}/photo.png", "http://169.254.169.254/"):
        url = f"http://public.test:{server.port}/redirect?to={target}"
        with pytest.raises(FetchError, match=r"non-public \((private|cloud metadata service)\)"):
            _get(url, tmp_path, allow_private=False)
    assert [path for path, _host in server.seen] == ["/redirect", "/redirect"]
    assert list(tmp_path.iterdir()) == []


def test_connects_to_the_checked_address(server: _Server, tmp_path: Path, fake_dns: list[str]) -> None:
    """One lookup per hop, and the request still carries the real host name."""
    hop = f"http://public.test:{server.port}/photo.png"
    path = _get(f"http://public.test:{server.port}/redirect?to={hop}", tmp_path, allow_private=False)
    assert path.read_bytes() == PNG
    assert fake_dns == ["public.test", "public.test"]
    assert server.seen == [(p, f"public.test:{server.port}") for p in ("/redirect", "/photo.png")]


def test_at_most_five_redirects(server: _Server, tmp_path: Path) -> None:
    assert _get(f"http://127.0.0.1:{server.port}/hops?n=5", tmp_path).read_bytes() == PNG
    server.seen.clear()
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        _get(f"http://127.0.0.1:{server.port}/hops?n=6", tmp_path)
    assert len(server.seen) == 6


# --- Responses --------------------------------------------------------------------------------


def test_too_large_by_content_length(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="10000 bytes, over the 1000 bytes limit"):
        _get(f"http://127.0.0.1:{server.port}/big", tmp_path, max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_too_large_while_streaming(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="larger than the 2500 bytes limit"):
        _get(f"http://127.0.0.1:{server.port}/chunked", tmp_path, max_bytes=2500)
    assert list(tmp_path.iterdir()) == []
    assert _get(f"http://127.0.0.1:{server.port}/chunked", tmp_path).stat().st_size == 10_000


@pytest.mark.parametrize("route", ["/trickle", "/stall"])
def test_total_deadline(server: _Server, tmp_path: Path, route: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not finish within 0.5 s.*reachable"):
        _get(f"http://127.0.0.1:{server.port}{route}", tmp_path, timeout_s=0.5)
    assert time.monotonic() - started < 1.5
    assert list(tmp_path.iterdir()) == []


def test_http_error_status_named(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="answered 404 Not Found") as caught:
        _get(f"http://127.0.0.1:{server.port}/gone.mp4?sig=SECRET", tmp_path, what="video")
    assert str(caught.value).startswith("Cannot fetch the video from http://127.0.0.1:")
    assert "SECRET" not in str(caught.value)


def test_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(FetchError, match="could not be reached.*reachable from the machine"):
        _get(f"http://127.0.0.1:{port}/clip.mp4", tmp_path)


def test_html_where_video_expected(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"web page \(HTML\), not a video.*sign-in"):
        _get(f"http://127.0.0.1:{server.port}/signin", tmp_path, expect="video", what="video")
    assert list(tmp_path.iterdir()) == []


def test_kind_checks(server: _Server, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{server.port}"
    with pytest.raises(FetchError, match="sent an image, not a video"):
        _get(f"{base}/photo.png", tmp_path, expect="video")
    with pytest.raises(FetchError, match="empty response"):
        _get(f"{base}/empty", tmp_path, expect="media")
    assert _get(f"{base}/clip.mp4", tmp_path, expect="media").read_bytes() == MP4


def test_file_name_never_from_url(server: _Server, tmp_path: Path) -> None:
    path = _get(f"http://127.0.0.1:{server.port}/photo.png", tmp_path / "new")
    assert path.parent == tmp_path / "new"
    assert path.name.startswith("fetched-") and "photo" not in path.name


# --- Sniffing and redaction -------------------------------------------------------------------


@pytest.mark.parametrize("container", ["mp4", "mov", "matroska", "avi", "mpegts"])
def test_sniff_real_videos(container: str) -> None:
    assert sniff_kind(_video(container)[: sniff.SNIFF_BYTES]) == "video"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (PNG, "image"),
        (_jpeg(), "image"),
        (b"GIF89a\x01\x00", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1", "image"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "image"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "video"),
        (b"\x00\x00\x01\xba\x44\x00\x04", "video"),
        (b"  \n<!DOCTYPE html><html>", "html"),
        (b"<HTML><head>", "html"),
        (b"G" + b"\x00" * 400, "unknown"),
        (b'{"error": "forbidden"}', "unknown"),
        (b"", "unknown"),
    ],
)
def test_sniff_kind(head: bytes, kind: str) -> None:
    assert sniff_kind(head[: sniff.SNIFF_BYTES]) == kind


def test_redact_url_hides_secrets() -> None:
    url = "https://user:pw@cdn.example.com:8443/v/clip.mp4?X-Amz-Signature=abc&token=t#k=v"
    assert redact_url(url) == "https://cdn.example.com:8443/v/clip.mp4?…#…"
    assert redact_url("https://cdn.example.com/a.mp4") == "https://cdn.example.com/a.mp4"


# --- Async and sync entry points --------------------------------------------------------------


def test_async_variant(server: _Server, tmp_path: Path) -> None:
    async def both() -> Path:
        with pytest.raises(FetchError, match="404"):
            await afetch_to_file(
                f"http://127.0.0.1:{server.port}/nope",
                tmp_path,
                max_bytes=10_000,
                timeout_s=5,
                allow_private=True,
            )
        return await afetch_to_file(
            f"http://127.0.0.1:{server.port}/photo.png",
            tmp_path,
            max_bytes=10_000,
            timeout_s=5,
            allow_private=True,
            what="reference photo for Alice",
            expect="image",
        )

    assert asyncio.run(both()).read_bytes() == PNG


def test_blocking_call_from_inside_an_event_loop(server: _Server, tmp_path: Path) -> None:
    """A notebook cell or sync helper in async code still gets a working fetch."""

    async def caller() -> Path:
        return _get(f"http://127.0.0.1:{server.port}/photo.png", tmp_path)

    assert asyncio.run(caller()).read_bytes() == PNG
