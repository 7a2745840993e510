"""What a body is, by its first bytes: image, video, a web page, or unknown. Servers' headers
are often generic or wrong, so only the bytes are trusted.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["image", "video", "html", "unknown"]
Expect = Literal["image", "video", "media"]

SNIFF_BYTES = 512
"""Enough of the body to recognise every format `sniff_kind` knows (MPEG-TS needs 3 packets)."""


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


def kind_problem(kind: Kind, expect: Expect | None) -> str | None:
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
