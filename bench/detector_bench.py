"""Detector benchmark on real faces: how many each detector finds, how small, at what cost.

Run on demand (`python -m bench.detector_bench`). Frames: every 13th of the real street clip
(1080p, a crowd walking towards the camera, faces ~25-200 px, frontal and turned) and the
real photos of ../shared/fixtures/faces. A face counts as found by a detector when its box
overlaps a box of that detector; the union of all detectors' faces is the reference, and
faces only one detector reports are written as crops to ``--crops`` for a look by eye
(false faces show up there).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tools.reid.engine.detect import Detection, get_detector, photo_min_face, video_min_face
from tools.reid.engine.geometry import iou

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
DETECTORS = ["yunet", "blazeface", "hog"]


def street_frames(step: int) -> list[np.ndarray]:
    with av.open(str(SHARED / "footage" / "street-1080p.mp4")) as container:
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i % step == 0]


def photos() -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted((SHARED / "faces").glob("*.jpg"))]


def detect_all(name: str, images: list[np.ndarray], min_face: list[float]) -> tuple[list[list[Detection]], float]:
    detector = get_detector(name)  # type: ignore[arg-type]
    detector.detect(images[0], min_face[0])  # load the model
    started = time.perf_counter()
    found = [detector.detect(image, size) for image, size in zip(images, min_face, strict=True)]
    return found, (time.perf_counter() - started) / len(images)


def report(title: str, images: list[np.ndarray], min_face: list[float], crops: Path | None) -> None:
    results = {}
    for name in DETECTORS:
        try:
            results[name] = detect_all(name, images, min_face)
        except Exception as exc:  # an optional detector not installed
            print(f"{title}: {name} skipped ({exc})")
    union: list[list[tuple[int, int, int, int]]] = []
    for index in range(len(images)):
        boxes: list[tuple[int, int, int, int]] = []
        for found, _ in results.values():
            for d in found[index]:
                if not any(iou(d.box, b) > 0.3 for b in boxes):
                    boxes.append(d.box)
        union.append(boxes)
    total = sum(len(b) for b in union)
    print(f"{title}: {len(images)} images, {total} distinct faces found by any detector")
    for name, (found, seconds) in results.items():
        hits = sum(len(f) for f in found)
        heights = sorted(d.box[3] - d.box[1] for f in found for d in f)
        only = 0
        for index, frame in enumerate(found):
            for d in frame:
                others = [o for n, (f, _) in results.items() if n != name for o in f[index]]
                if not any(iou(d.box, o.box) > 0.3 for o in others):
                    only += 1
                    if crops:
                        crops.mkdir(parents=True, exist_ok=True)
                        left, top, right, bottom = d.box
                        Image.fromarray(images[index][top:bottom, left:right]).save(
                            crops / f"{title}-{name}-{index}-{left}-{top}-{d.score:.2f}.png"
                        )
        print(
            f"  {name:9} {1000 * seconds:7.1f} ms/image  {hits:4} faces ({hits / max(total, 1):4.0%} of all)  "
            f"{only:3} found by no other  smallest {heights[0] if heights else '-'} px"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=13, help="every n-th frame of the street clip")
    parser.add_argument("--crops", type=Path, help="write faces that only one detector found here")
    args = parser.parse_args()
    frames = street_frames(args.step)
    report("street", frames, [video_min_face(f.shape[0]) for f in frames], args.crops)
    pictures = photos()
    report("photos", pictures, [photo_min_face(p.shape[0]) for p in pictures], args.crops)


if __name__ == "__main__":
    main()
