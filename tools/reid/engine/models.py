"""dlib's models, loaded lazily from the `face-recognition-models` wheel, once per thread.

Nothing is downloaded: the weights ship inside the installed package, so the engine runs
air-gapped. dlib's networks (and LiteRT's interpreter) keep scratch state inside the model
object, so two threads must never share one: each thread that analyses (a worker process
of the pool, a task thread of the service) loads its own copy on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from importlib.resources import files
from typing import TypeVar

import dlib

T = TypeVar("T")
_per_thread = threading.local()


def per_thread(load: Callable[[], T]) -> Callable[[], T]:
    """Caches what ``load`` returns separately in every thread."""

    @wraps(load)
    def cached() -> T:
        key = f"{load.__module__}.{load.__qualname__}"
        if not hasattr(_per_thread, key):
            setattr(_per_thread, key, load())
        return getattr(_per_thread, key)

    return cached


def _model_path(filename: str) -> str:
    return str(files("face_recognition_models") / "models" / filename)


@per_thread
def hog_detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@per_thread
def cnn_detector() -> dlib.cnn_face_detection_model_v1:
    return dlib.cnn_face_detection_model_v1(_model_path("mmod_human_face_detector.dat"))


@per_thread
def landmarks_5() -> dlib.shape_predictor:
    return dlib.shape_predictor(_model_path("shape_predictor_5_face_landmarks.dat"))


@per_thread
def face_encoder() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(_model_path("dlib_face_recognition_resnet_model_v1.dat"))
