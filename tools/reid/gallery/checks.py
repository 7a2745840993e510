"""Checking an enrolment photo, and saying why it is refused and what to send instead.

A gallery face is compared with every later search, so it is held to more than a one-off
reference photo: one face, large enough, sharp, turned no further than a three-quarter view,
and not a copy of a photo the person already has. Yaw is read from YuNet's five landmarks
(the nose tip's offset from the eyes' midpoint, over the eyes' distance); blur is the variance
of the Laplacian of the face, scaled to SFace's 112-pixel input.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tools.reid.engine.decode import load_image
from tools.reid.engine.detect import Detection, get_detector, photo_min_face
from tools.reid.engine.embed import Descriptor
from tools.reid.engine.references import largest_and_rivals
from tools.reid.errors import InvalidInput, MediaError

MIN_FACE_PX = 64
"""Narrower faces carry too little detail to be compared with every later search."""
MIN_SHARPNESS = 40.0
"""Variance of the Laplacian of the face at 112 px. Measured on the real photos of
../shared and the package portraits: sharp faces 288-1439; a 2-pixel Gaussian blur of a
~100-pixel face brings it to 15-18, of a 150-pixel one to 40."""
MAX_YAW_DEG = 45.0
"""Past a three-quarter view one eye is hidden and the descriptor drifts."""
FRONTAL_DEG = 15.0
"""Up to this a face counts as frontal in the coverage note."""
NOSE_DEPTH = 0.55
"""The nose tip's depth in front of the eyes, in eye distances (an average adult head)."""
THUMBNAIL_PX = 64
FACE_PX = 112


class PhotoRefused(InvalidInput):
    """One enrolment photo cannot be used; ``reason`` says why and what to send instead."""

    def __init__(self, photo: str, reason: str) -> None:
        self.photo = photo
        self.reason = reason
        super().__init__(f"{photo}: {reason}")


@dataclass(frozen=True)
class CheckedFace:
    """What enrolment keeps of a photo: never the photo itself."""

    photo: str
    embedding: np.ndarray
    thumbnail: bytes
    """A JPEG of the face, ``THUMBNAIL_PX`` high, for review."""
    yaw_deg: float | None
    width_px: int
    sharpness: float
    digest: str
    """SHA-256 of the photo's bytes: the same file sent twice is a duplicate."""


def check_photo(photo: str, source: Path | bytes, descriptor: Descriptor, max_pixels: int) -> CheckedFace:
    """The photo's one face, checked and described.

    Raises:
        PhotoRefused: not an image, no face, several faces, too small, blurred, turned too far.
    """
    raw = source if isinstance(source, bytes) else _read(photo, source)
    try:
        rgb = load_image(raw, max_pixels)
    except MediaError as exc:
        raise PhotoRefused(photo, f"{exc} Send a JPEG or PNG photo of the person's face.") from exc
    face = _one_face(photo, get_detector("yunet").detect(rgb, photo_min_face(rgb.shape[0])))
    width = face.box[2] - face.box[0]
    if width < MIN_FACE_PX:
        raise PhotoRefused(
            photo,
            f"the face is only {width} pixels wide; enrolment needs {MIN_FACE_PX}. Send a closer or larger photo.",
        )
    crop = _crop(rgb, face)
    sharpness = _sharpness(crop)
    if sharpness < MIN_SHARPNESS:
        raise PhotoRefused(
            photo,
            f"the face is blurred (sharpness {sharpness:.0f}, at least {MIN_SHARPNESS:.0f} needed). "
            "Send a sharp photo: steady camera, face in focus.",
        )
    yaw = yaw_degrees(face.landmarks)
    if yaw is not None and yaw > MAX_YAW_DEG:
        raise PhotoRefused(
            photo,
            f"the face is turned about {yaw:.0f}° from the camera (at most {MAX_YAW_DEG:.0f}°). "
            "Send a frontal or three-quarter photo with both eyes visible.",
        )
    return CheckedFace(
        photo=photo,
        embedding=descriptor.describe(rgb, [face])[0],
        thumbnail=_thumbnail(crop),
        yaw_deg=None if yaw is None else round(yaw, 1),
        width_px=width,
        sharpness=round(sharpness, 1),
        digest=hashlib.sha256(raw).hexdigest(),
    )


def yaw_degrees(landmarks: np.ndarray | None) -> float | None:
    """How far the face is turned left or right (0 frontal), from YuNet's landmarks: eyes,
    nose tip, mouth corners. None without landmarks."""
    if landmarks is None:
        return None
    eyes = landmarks[:2]
    eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    if eye_distance < 1.0:
        return 90.0
    offset = abs(float(landmarks[2][0] - eyes.mean(axis=0)[0])) / eye_distance
    return math.degrees(math.atan(offset / NOSE_DEPTH))


def is_frontal(yaw_deg: float | None) -> bool:
    return yaw_deg is not None and yaw_deg <= FRONTAL_DEG


def _read(photo: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PhotoRefused(photo, f"it cannot be read ({exc.strerror}). Give a photo file that exists here.") from exc


def _one_face(photo: str, faces: list[Detection]) -> Detection:
    if not faces:
        raise PhotoRefused(
            photo, "no face was found. Send a clear photo of the person's face, looking roughly at the camera."
        )
    largest, rivals = largest_and_rivals(faces)
    if rivals:
        raise PhotoRefused(
            photo,
            f"{len(rivals) + 1} faces of similar size are in it, so which one is meant is a guess. "
            "Crop it to the person alone.",
        )
    return largest


def _crop(rgb: np.ndarray, face: Detection) -> np.ndarray:
    left, top, right, bottom = face.box
    crop = rgb[max(0, top) : bottom, max(0, left) : right]
    return cv2.resize(crop, (FACE_PX, FACE_PX), interpolation=cv2.INTER_AREA)


def _sharpness(face: np.ndarray) -> float:
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _thumbnail(face: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(face).resize((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS).save(out, "JPEG", quality=80)
    return out.getvalue()
