"""dlib's models, loaded lazily once per process from the `face-recognition-models` wheel.

Nothing is downloaded: the weights ship inside the installed package, so the engine runs
air-gapped. Each worker process of the pool loads its own copy on first use.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import dlib


def _model_path(filename: str) -> str:
    return str(files("face_recognition_models") / "models" / filename)


@cache
def hog_detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@cache
def cnn_detector() -> dlib.cnn_face_detection_model_v1:
    return dlib.cnn_face_detection_model_v1(_model_path("mmod_human_face_detector.dat"))


@cache
def landmarks_5() -> dlib.shape_predictor:
    return dlib.shape_predictor(_model_path("shape_predictor_5_face_landmarks.dat"))


@cache
def face_encoder() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(_model_path("dlib_face_recognition_resnet_model_v1.dat"))
