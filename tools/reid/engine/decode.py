"""Decoding footage: images with Pillow, video as a PyAV stream.

Video is never held in memory: frames are decoded one at a time and only the sampled ones
are converted to pixels. Rotation metadata (phones) and EXIF orientation are applied, so
every box the engine reports is in the upright frame.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tools.reid.errors import MediaError
from tools.reid.limits import Limits
from tools.reid.schemas import MediaInfo

# Our own pixel limit (REID_MAX_PIXELS) refuses large images with a clearer message; Pillow's
# error past twice its limit (~179 megapixels) stays, as a second guard, and becomes a MediaError.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

EXIF_ORIENTATION = 0x0112
_TURNED = {5, 6, 7, 8}
"""EXIF orientations that swap width and height."""

THUMBNAIL_SIZE = (64, 36)
SKIP_NONREF_RATIO = 4
"""Skip non-reference frames when the video has this many frames per sample or more."""
NEAR_GRID_FRAMES = 1.25
"""Frames shown this many frame durations after a grid point are always decoded, so that the
grid point gets its own frame, not the next one a reference frame shows (measured: half the
samples of the street clip were one frame late when every non-reference frame was skipped)."""
LUMA_FIRST_FORMATS = ("yuv", "yuvj", "nv12", "nv21", "gray")
"""Pixel formats whose first plane is the luma at full size."""
CUT_DIFFERENCE = 20.0
SEEK_AHEAD_S = 10.0
"""Frames wanted this close together are decoded in one pass rather than sought (`frames_at`)."""
"""Mean absolute difference of consecutive grey thumbnails (0-255) that marks a shot cut.
Measured on real footage: 27-30 at cuts, at most 13 inside shots. Frames sampled 0.5 s
apart differ by up to 34 inside a shot, so only consecutive decoded frames are compared."""


@dataclass(frozen=True)
class SampledFrame:
    index: int
    """Position in the sampling grid: the frame shown at ``index / sample_fps`` seconds."""
    time: float
    rgb: np.ndarray
    cut_before: bool = False
    """Two consecutive decoded frames since the previous sample differ like a shot cut."""


def probe(path: Path, limits: Limits) -> MediaInfo:
    """What the media is, checked against the limits before any real work.

    Raises:
        MediaError: empty, unreadable, not an image or video, or over a limit.
    """
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes). Send the footage again.")
    if size > limits.max_bytes:
        raise MediaError(
            f"{path.name} is {size / 2**20:.0f} MiB; the limit is {limits.max_bytes / 2**20:.0f} MiB. "
            "Trim or compress the footage."
        )
    info = _probe_image(path, limits.max_pixels) or _probe_video(path)
    _check_pixels(path.name, info.width, info.height, limits.max_pixels)
    if info.duration_s > limits.max_duration_s:
        raise MediaError(
            f"{path.name} lasts {info.duration_s / 60:.0f} min; the limit is "
            f"{limits.max_duration_s / 60:.0f} min. Cut it into shorter clips."
        )
    return info


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise MediaError(
            f"{name} is {width}x{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels. Downscale it first."
        )


def load_image(source: Path | bytes, max_pixels: int = Limits.max_pixels) -> np.ndarray:
    """An upright RGB array of an image file or its bytes (EXIF orientation applied).

    The size is checked from the header, before a pixel is decoded: a small file may claim
    60000x60000 pixels and would take gigabytes to decode.

    Raises:
        MediaError: the data is not an image Pillow can decode, or has more than ``max_pixels``.
    """
    name = source.name if isinstance(source, Path) else "the image"
    try:
        with Image.open(source if isinstance(source, Path) else io.BytesIO(source)) as image:
            _check_pixels(name, *image.size, max_pixels)
            upright = ImageOps.exif_transpose(image)
            return np.asarray(upright.convert("RGB"))
    except Image.DecompressionBombError as exc:
        raise _bomb(name) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{name} is not a readable image ({exc}). Send a JPEG, PNG or WebP.") from exc


def _bomb(name: str) -> MediaError:
    """Pillow refuses, from the header, images over twice its own limit (~179 megapixels)."""
    return MediaError(
        f"{name} claims to be over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels, far over "
        "what can be analysed (or it is crafted to exhaust memory). Downscale it first."
    )


def _probe_image(path: Path, max_pixels: int = Limits.max_pixels) -> MediaInfo | None:
    """The image's upright size, read from its header and EXIF alone; None when it is not an
    image Pillow knows. The size is checked before the EXIF is read: Pillow decodes a whole
    PNG to find EXIF stored after its pixels.

    Raises:
        MediaError: the header claims more than ``max_pixels`` pixels.
    """
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            _check_pixels(path.name, width, height, max_pixels)
            if image.getexif().get(EXIF_ORIENTATION) in _TURNED:
                width, height = height, width
    except Image.DecompressionBombError as exc:
        raise _bomb(path.name) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return MediaInfo(kind="image", duration_s=0.0, width=width, height=height, fps=None)


def _probe_video(path: Path) -> MediaInfo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path.name} has no video stream. Send a video or an image.")
            stream = container.streams.video[0]
            duration = _duration_s(container, stream)
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            first = _first_frame(container, path)
            if first.rotation % 180:
                width, height = height, width
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path.name} is not a video or image that can be decoded ({_reason(exc)}). "
            "It may be corrupt or truncated; send the original file."
        ) from exc
    if width <= 0 or height <= 0:
        raise MediaError(f"{path.name} has a video stream with no picture size; it looks corrupt.")
    return MediaInfo(
        kind="video",
        duration_s=round(duration, 3),
        width=width,
        height=height,
        fps=round(float(rate), 3) if rate else None,
    )


def _first_frame(container: av.container.InputContainer, path: Path) -> av.VideoFrame:
    for frame in container.decode(video=0):
        return frame
    raise MediaError(f"{path.name} has a video stream but no frame could be decoded; it looks truncated.")


def _duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def upright(frame: av.VideoFrame) -> np.ndarray:
    """RGB pixels of a decoded frame, turned as its rotation metadata says it is shown."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round(frame.rotation / 90) % 4
    # FFmpeg's display rotation is counter-clockwise; np.rot90 turns counter-clockwise too.
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def grid_size(duration_s: float, sample_fps: float) -> int:
    """How many points of the sampling grid fall inside the video."""
    return math.floor(duration_s * sample_fps + 1e-6) + 1


def sampled_frames(
    path: Path,
    sample_fps: float,
    first: int,
    stop: int | None,
    counter: list[int] | None = None,
    threads: int = 0,
) -> Iterator[SampledFrame]:
    """The frames at grid points ``first <= k < stop`` of the grid ``k / sample_fps`` seconds.

    A frame is sampled when it is the first at or after a grid point, with index
    ``floor(time * sample_fps)``; a sample is marked ``cut_before`` when a shot cut lies
    between it and the previous sample. Both rules look only at consecutive frames, so any
    split of the grid into segments yields exactly the frames one pass would.
    ``counter[0]`` is increased by the number of frames decoded; ``threads`` are FFmpeg's
    decoding threads (0: one per core).

    Raises:
        MediaError: the stream is corrupt at some point.
    """
    previous: int | None = None
    previous_thumbnail: np.ndarray | None = None
    cut = False
    for time_s, frame in _decode_from(path, first / sample_fps, counter, sample_fps, threads):
        thumbnail = _thumbnail(frame)
        if previous_thumbnail is not None:
            cut = cut or _is_cut(previous_thumbnail, thumbnail)
        previous_thumbnail = thumbnail
        index = math.floor(time_s * sample_fps + 1e-6)
        is_sample = previous is None or index > previous
        previous = index if previous is None else max(previous, index)
        if not is_sample:
            continue
        cut_before, cut = cut, False
        if index < first:
            continue
        if stop is not None and index >= stop:
            return
        yield SampledFrame(index=index, time=round(time_s, 3), rgb=upright(frame), cut_before=cut_before)


def _thumbnail(frame: av.VideoFrame) -> np.ndarray:
    """A tiny grey picture of the frame: the decoded luma plane averaged down, without a copy
    or a colour conversion (FFmpeg's scaler costs ~6 ms a 1080p frame, this ~0.5 ms)."""
    if frame.format.name.startswith(LUMA_FIRST_FORMATS):
        plane = frame.planes[0]
        buffer = np.frombuffer(plane, np.uint8)  # type: ignore[call-overload]  # PyAV's stubs: a plane is a buffer
        luma = buffer.reshape(plane.height, plane.line_size)[:, : plane.width]
    else:
        luma = frame.to_ndarray(format="gray")
    step = max(1, luma.shape[0] // (4 * THUMBNAIL_SIZE[1]))  # every 7th pixel of 1080p averages as well
    return cv2.resize(luma[::step, ::step], THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.int16)


def _is_cut(before: np.ndarray, after: np.ndarray) -> bool:
    return float(np.mean(np.abs(after - before))) > CUT_DIFFERENCE


def frame_at(path: Path, time_s: float) -> np.ndarray:
    """The upright frame shown at ``time_s`` (for keyframes).

    Raises:
        MediaError: the media has no frame at that time.
    """
    return frames_at(path, [time_s])[0]


def frames_at(path: Path, times: Sequence[float]) -> list[np.ndarray]:
    """The upright frames shown at each of ``times``, in the order given (for pictures of many
    moments): times within `SEEK_AHEAD_S` of each other share one decoding pass, so a short clip
    with one keyframe is decoded once, not once a picture; distant ones are sought.

    Raises:
        MediaError: the media has no frame at one of the times.
    """
    if _probe_image(path):
        image = load_image(path)
        return [image for _ in times]
    runs: list[list[float]] = []
    for time_s in sorted(set(times)):
        if runs and time_s - runs[-1][-1] <= SEEK_AHEAD_S:
            runs[-1].append(time_s)
        else:
            runs.append([time_s])
    found: dict[float, np.ndarray] = {}
    for run in runs:
        pending = iter(run)
        target = next(pending, None)
        for frame_time, frame in _decode_from(path, run[0], None):
            while target is not None and frame_time + 1e-6 >= target:
                found[target] = upright(frame)
                target = next(pending, None)
            if target is None:
                break
        if target is not None:
            raise MediaError(f"{path.name} has no frame at {target:.2f} s.")
    return [found[time_s] for time_s in times]


def _decode_from(
    path: Path, start_s: float, counter: list[int] | None, sample_fps: float | None = None, threads: int = 0
) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time, frame) from a little before ``start_s`` on, times from the media's start.

    Given the ``sample_fps`` of an analysis that samples far fewer frames than the video has,
    frames no other frame refers to are not decoded, except those shown just at or after a grid
    point (`_near_grid`): they are half of a typical H.264 stream's decoding time, the frames
    left (every second or third) still show every shot cut, and every grid point still gets
    the frame a full decode would give it.
    """
    last_time = start_s
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            context = stream.codec_context
            context.thread_count = threads
            rate = stream.average_rate or stream.guessed_rate
            sparse = sample_fps is not None and rate is not None and sample_fps * SKIP_NONREF_RATIO <= rate
            time_base = stream.time_base
            if time_base is None:
                raise MediaError(f"{path.name} has a video stream without timestamps. Send the original file.")
            origin = float(stream.start_time * time_base) if stream.start_time else 0.0
            if start_s > 0:
                # Seek a little early: the nearest keyframe before may sit exactly at start_s.
                target = int((origin + max(0.0, start_s - 1.0)) / time_base)
                container.seek(target, stream=stream, backward=True)
            for packet in container.demux(stream):
                if sparse and sample_fps is not None and rate is not None and packet.pts is not None:
                    shown = float(packet.pts * time_base) - origin
                    context.skip_frame = "DEFAULT" if _near_grid(shown, sample_fps, float(rate)) else "NONREF"
                for frame in stream.decode(packet):
                    if frame.pts is None:
                        continue
                    if counter is not None:
                        counter[0] += 1
                    last_time = float(frame.pts * time_base) - origin
                    yield last_time, frame
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path.name} is corrupt or truncated near {last_time:.1f} s ({_reason(exc)}). Send the original file."
        ) from exc


def _near_grid(time_s: float, sample_fps: float, rate: float) -> bool:
    """Whether a frame shown at ``time_s`` may be the first at or after a grid point: within
    `NEAR_GRID_FRAMES` frame durations after one (a variable frame rate's frames may stray)."""
    since = time_s - math.floor(time_s * sample_fps + 1e-6) / sample_fps
    return since < NEAR_GRID_FRAMES / rate
