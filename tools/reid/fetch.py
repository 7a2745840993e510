"""Fetching footage and reference photos from http(s) URLs without becoming an SSRF proxy.

A URL given to the service, the Slack bot or the LangChain tool is chosen by someone else, so
every fetch is treated as hostile:

* only http and https, and (unless ``allow_private``) only hosts whose every address is
  public, checked again on each redirect hop, so a public URL cannot bounce us into the
  private network or the cloud metadata service;
* the connection goes to the very address that was checked (see `_Target`), so a DNS answer
  that changes between the check and the connect (DNS rebinding) cannot slip past;
* one deadline covers the whole download, and the size limit is enforced both on the declared
  ``Content-Length`` and on the bytes that actually arrive;
* the body is sniffed by magic bytes, so a sign-in page served where a video was expected is
  reported as such instead of failing later as "corrupt media";
* messages name the URL only in redacted form (`redact_url`): query strings carry tokens.

There is one implementation, `afetch_to_file`; `fetch_to_file` runs it on a private event loop.
httpx has no overall timeout, and its blocking client can only bound each socket operation, so
a server that answers just before every read timeout could hold a worker for hours. An anyio
cancel scope is a true deadline over resolution, every hop and the whole body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from tools.reid.errors import FetchError
from tools.reid.wording import byte_size

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Kind = Literal["image", "video", "html", "unknown"]
Expect = Literal["image", "video", "media"]

MAX_REDIRECTS = 5
SNIFF_BYTES = 512
"""Enough of the body to recognise every format `sniff_kind` knows (MPEG-TS needs 3 packets)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALLOW_PRIVATE_HINT = (
    "Only public addresses may be fetched; set REID_ALLOW_PRIVATE_URLS=true to allow "
    "private networks (e.g. an on-premises footage server)."
)
_REACH_HINT = "Check that the URL is reachable from the machine running ReID."

T = TypeVar("T")


# --- Redaction --------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL as it may appear in messages and logs: ``scheme://host/path?…``.

    Query strings and fragments often carry access tokens (pre-signed links, share keys) and
    user info carries passwords, so those are replaced or dropped; host and path stay, because
    they are what a user needs to recognise which link failed.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.netloc.rpartition("@")[2]
    query = "…" if parts.query else ""
    fragment = "…" if parts.fragment else ""
    return urlunsplit((parts.scheme, host, parts.path, query, fragment))


def safe_file_name(name: str, default: str) -> str:
    """A user's file name made safe to write into our own folder (no path, no hidden file, no
    odd characters, at most 100 characters): kept so that error messages name ``clip.mp4``,
    the file the user knows, rather than a temporary or spool name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    return cleaned[:100] or default


def _error(what: str, url: str | httpx.URL, reason: str) -> FetchError:
    return FetchError(f"Cannot fetch the {what} from {redact_url(str(url))}: {reason}")


# --- Address policy ---------------------------------------------------------------------------


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the system's order of preference.

    A module-level function so tests can stand in a fake DNS and still exercise the real
    policy, redirect and pinning logic.

    Raises:
        FetchError: the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(
            f"could not resolve host {host!r} ({exc}). Check the spelling of the URL and that "
            "the host is known to the DNS of the machine running ReID."
        ) from exc
    addresses = (ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos)
    return list(dict.fromkeys(addresses))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through mapping, NAT64 or 6to4, if any.

    ``::ffff:10.0.0.1`` connects to 10.0.0.1 on a dual-stack socket, and a NAT64 or 6to4 gateway
    forwards to the embedded address, so those must be judged as that IPv4 address.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public internet address (e.g. ``"loopback"``), or None when it is.

    `ipaddress.is_global` alone is not enough: on Python 3.11 it misjudges IPv4-mapped IPv6
    and a plain `not is_global` gives no reason a user could act on, so the common classes are
    named first.
    """
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        problem = address_problem(embedded)
        return None if problem is None else f"{problem} (via IPv6 {ip})"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip in _METADATA, "cloud metadata service"),
        (ip.is_link_local, "link-local"),
        (ip in _CGNAT, "carrier-grade NAT (shared)"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "special-purpose"),
    )
    return next((label for failed, label in checks if failed), None)


@dataclass(frozen=True)
class _Target:
    """A URL that passed the policy, bound to the address that was checked.

    Pinning: the request goes to ``address`` literally (the URL's host is swapped for it),
    while the ``Host`` header and, for https, the TLS server name and certificate check use the
    real host name. Re-resolving and comparing would still leave a window between the second
    lookup and httpx's own; connecting to the checked address leaves none. The price is no
    fallback to a second address if the first is down, which the system's address ordering
    makes rare.
    """

    url: httpx.URL
    """The URL as the user gave it: used for messages, Host, TLS and resolving redirects."""
    address: IPAddress

    def request(self, client: httpx.AsyncClient) -> httpx.Request:
        host = self.url.raw_host.decode("ascii")
        extensions = {"sni_hostname": host} if self.url.scheme == "https" else {}
        return client.build_request(
            "GET",
            self.url.copy_with(host=str(self.address)),
            headers={"Host": self.url.netloc.decode("ascii")},
            extensions=extensions,
        )


def _checked_target(url: str, *, allow_private: bool, what: str) -> _Target:
    """Parse, resolve and judge `url`; the single gate every hop passes through."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _error(what, url, f"it is not a valid URL ({exc})") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise _error(what, url, "only http:// and https:// URLs can be fetched")
    if not parsed.raw_host:
        raise _error(what, url, "the URL has no host name")
    host = parsed.raw_host.decode("ascii")
    try:
        addresses = resolve_host(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
    except FetchError as exc:
        raise _error(what, url, str(exc)) from exc
    if not addresses:
        raise _error(what, url, f"could not resolve host {host!r} (no addresses)")
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem is not None:
                reason = f"host {host!r} resolves to {ip}, a non-public ({problem}) address. "
                raise _error(what, url, reason + _ALLOW_PRIVATE_HINT)
    return _Target(parsed, addresses[0])


def is_url(location: str) -> bool:
    """Whether a location names an http(s) URL rather than a local path."""
    return location.startswith(("http://", "https://"))


def check_url(url: str, *, allow_private: bool, what: str = "file") -> None:
    """Refuse a URL the service must not fetch, before accepting a job that would fetch it.

    Raises:
        FetchError: not http(s), no host, unresolvable, or (unless `allow_private`) some
            address of the host is loopback, private, link-local, metadata, CGNAT, multicast,
            reserved or unspecified. The message names `what` and the redacted URL.
    """
    _checked_target(url, allow_private=allow_private, what=what)


# --- Content sniffing -------------------------------------------------------------------------

_PREFIXES: tuple[tuple[bytes, Kind], ...] = (
    (b"\xff\xd8\xff", "image"),  # JPEG
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"II*\x00", "image"),  # TIFF, little-endian
    (b"MM\x00*", "image"),  # TIFF, big-endian
    (b"\x1a\x45\xdf\xa3", "video"),  # Matroska / WebM (EBML header)
    (b"FLV\x01", "video"),
    (b"\x00\x00\x01\xba", "video"),  # MPEG program stream pack header
    (b"\x00\x00\x01\xb3", "video"),  # MPEG-1/2 elementary stream sequence header
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video"),  # ASF / WMV, common on DVRs
)
_IMAGE_BRANDS = frozenset(b"heic heix heim heis hevc hevx hevm hevs mif1 msf1 avif avis".split())
_VIDEO_BRANDS = frozenset(
    b"isom iso2 iso4 iso5 iso6 mp41 mp42 avc1 dash M4VP 3gp4 3gp5 3gp6 3g2a mmp4 MSNV XAVC".split()
) | {b"qt  ", b"M4V ", b"f4v "}  # brands padded with spaces
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_RIFF_KINDS: dict[bytes, Kind] = {b"WEBP": "image", b"AVI ": "video"}
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


def _iso_bmff_kind(head: bytes) -> Kind:
    """MP4, MOV, 3GP, HEIC and AVIF share one container; the ``ftyp`` brand tells them apart."""
    box = head[4:8]
    brand = head[8:12]
    if box == b"ftyp" and brand in _IMAGE_BRANDS:
        return "image"
    if (box == b"ftyp" and brand in _VIDEO_BRANDS) or box in _QUICKTIME_ATOMS:
        return "video"
    return "unknown"


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS (188-byte packets) or M2TS (192, sync after a 4-byte timestamp).

    One 0x47 byte is just the letter G, so the sync byte must recur at the packet stride.
    """
    return any(
        len(head) > offset + 2 * stride and all(head[offset + k * stride] == 0x47 for k in range(3))
        for offset, stride in ((0, 188), (4, 192))
    )


def sniff_kind(head: bytes) -> Kind:
    """What the first bytes of a body are (pass at least `SNIFF_BYTES` when available).

    Headers such as ``Content-Type`` are set by whoever runs the server and are often generic
    (``application/octet-stream``) or wrong, so only the bytes are trusted.
    """
    for prefix, kind in _PREFIXES:
        if head.startswith(prefix):
            return kind
    if head.startswith(b"RIFF"):
        return _RIFF_KINDS.get(head[8:12], "unknown")
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return "image"  # BMP: "BM", file size, then four reserved zero bytes
    if _is_transport_stream(head):
        return "video"
    if (kind := _iso_bmff_kind(head)) != "unknown":
        return kind
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS):
        return "html"
    return "unknown"


_ACCEPTED: dict[Expect, frozenset[Kind]] = {
    "image": frozenset({"image"}),
    "video": frozenset({"video"}),
    "media": frozenset({"image", "video"}),
}
_DESCRIBED = {"image": "an image", "video": "a video", "media": "an image or video"}


def _kind_problem(kind: Kind, expect: Expect | None) -> str | None:
    """Why a body of `kind` does not fit `expect`, or None.

    "unknown" passes: FFmpeg and Pillow read many more formats than the sniffer knows (Ogg,
    DVR formats, raw streams), and their own error is precise when the bytes are not media.
    """
    if expect is None or kind == "unknown" or kind in _ACCEPTED[expect]:
        return None
    wanted = _DESCRIBED[expect]
    if kind == "html":
        return (
            f"the server sent a web page (HTML), not {wanted}. The link probably leads to a "
            "sign-in or preview page; use a direct download link to the file itself."
        )
    return f"the server sent {_DESCRIBED[kind]}, not {wanted}."


# --- Downloading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """The caller's arguments, passed whole to the helpers instead of five at a time."""

    what: str
    max_bytes: int
    timeout_s: float
    allow_private: bool
    expect: Expect | None

    def error(self, url: str | httpx.URL, reason: str) -> FetchError:
        return _error(self.what, url, reason)


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _check_response(response: httpx.Response, url: httpx.URL, job: _Job) -> None:
    """Refuse a final response by its status and declared size, before reading the body."""
    if not response.is_success:
        reason = f"the server answered {response.status_code} {response.reason_phrase}".rstrip()
        if response.status_code in (401, 403):
            reason += " (the link may need a sign-in; use a shareable or pre-signed link)"
        raise job.error(url, reason + ".")
    declared = _declared_length(response)
    if declared is not None and declared > job.max_bytes:
        raise job.error(url, f"it is {byte_size(declared)}, over the {byte_size(job.max_bytes)} limit.")


class _BodyGuard:
    """Checks a body while it streams: the size limit on every chunk, the kind once known."""

    def __init__(self, url: httpx.URL, job: _Job) -> None:
        self._url = url
        self._job = job
        self._size = 0
        self._head = b""
        self._sniffed = False

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._job.max_bytes:
            limit = byte_size(self._job.max_bytes)
            raise self._job.error(self._url, f"it is larger than the {limit} limit.")
        if not self._sniffed:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) == SNIFF_BYTES:
                self._check_kind()

    def finish(self) -> None:
        if self._size == 0:
            raise self._job.error(self._url, "the server sent an empty response.")
        if not self._sniffed:
            self._check_kind()

    def _check_kind(self) -> None:
        self._sniffed = True
        problem = _kind_problem(sniff_kind(self._head), self._job.expect)
        if problem is not None:
            raise self._job.error(self._url, problem)


@contextmanager
def _network_errors(url: httpx.URL, job: _Job) -> Iterator[None]:
    """Turn httpx's transport failures (refused, reset, TLS, protocol) into a FetchError."""
    try:
        yield
    except httpx.TransportError as exc:
        detail = str(exc) or type(exc).__name__
        reason = f"the server could not be reached or the connection failed ({detail}). "
        raise job.error(url, reason + _REACH_HINT) from exc


def _next_url(target: _Target, response: httpx.Response, job: _Job) -> str:
    try:
        return str(target.url.join(response.headers["Location"]))
    except httpx.InvalidURL as exc:
        raise job.error(target.url, "it redirected to an invalid URL.") from exc


async def _open(client: httpx.AsyncClient, url: str, job: _Job) -> tuple[_Target, httpx.Response]:
    """Follow redirects by hand, judging every hop; returns the final, unread response."""
    hop = url
    for _ in range(MAX_REDIRECTS + 1):
        check = partial(_checked_target, hop, allow_private=job.allow_private, what=job.what)
        target = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        with _network_errors(target.url, job):
            response = await client.send(target.request(client), stream=True)
        if not response.has_redirect_location:
            return target, response
        await response.aclose()
        hop = _next_url(target, response, job)
    raise job.error(url, f"it redirected more than {MAX_REDIRECTS} times.")


async def _save(response: httpx.Response, url: httpx.URL, dest_dir: Path, job: _Job) -> Path:
    """Stream the body to a fresh file named by us, removing it if any check fails.

    Writes are plain blocking calls: a chunk lands in the page cache in microseconds, less
    than handing it to a worker thread would cost.
    """
    guard = _BodyGuard(url, job)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="fetched-", dir=dest_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, _network_errors(url, job):
            async for chunk in response.aiter_raw():
                guard.feed(chunk)
                out.write(chunk)
        guard.finish()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _download(url: str, dest_dir: Path, job: _Job) -> Path:
    # No proxies from the environment: a proxy would pick the address itself, undoing the
    # check. Identity encoding: the size limit then counts the bytes that reach the disk.
    # No httpx timeouts: the caller's cancel scope is the one deadline.
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(None),
        headers={"Accept-Encoding": "identity", "User-Agent": "reid-footage"},
    ) as client:
        target, response = await _open(client, url, job)
        try:
            _check_response(response, target.url, job)
            return await _save(response, target.url, dest_dir, job)
        finally:
            await response.aclose()


async def afetch_to_file(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    what: str = "file",
    expect: Expect | None = None,
) -> Path:
    """Download `url` into a new file in `dest_dir` and return its path.

    `what` names the thing in error messages ("video", "reference photo for Alice");
    `expect` refuses a body whose sniffed kind does not fit (see `sniff_kind`).

    Raises:
        FetchError: the URL is refused by `check_url` (on any redirect hop), redirects more
            than `MAX_REDIRECTS` times, cannot be reached, answers other than 2xx, exceeds
            `max_bytes`, takes longer than `timeout_s` in total, is empty, or is the wrong kind.
            No partial file is left behind.
    """
    job = _Job(what, max_bytes, timeout_s, allow_private, expect)
    try:
        with anyio.fail_after(timeout_s):
            return await _download(url, dest_dir, job)
    except TimeoutError:
        reason = (
            f"the download did not finish within {timeout_s:g} s. {_REACH_HINT} "
            "For large files on slow links, raise REID_FETCH_TIMEOUT_S."
        )
        raise job.error(url, reason) from None


def fetch_to_file(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    what: str = "file",
    expect: Expect | None = None,
) -> Path:
    """Blocking form of `afetch_to_file`, same arguments, same errors.

    It runs the async implementation on a private event loop (the module docstring says why).
    """
    return _run_blocking(
        partial(
            afetch_to_file,
            url,
            dest_dir,
            max_bytes=max_bytes,
            timeout_s=timeout_s,
            allow_private=allow_private,
            what=what,
            expect=expect,
        )
    )


def _run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    A thread that already runs an event loop (a notebook, a sync call inside async code)
    cannot start another, so there the coroutine gets a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, make()).result()
