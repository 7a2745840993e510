"""Calibration bench: how far a face of footage quality sits from its own person's photo and
from other people's, by face quality; and what the matcher's rule makes of real footage.

Run on demand (`make bench` runs it too, or `python -m bench.calibration_bench --plot PATH`);
never part of `make test`. It prints tables and writes a plot (the `[demo]` extra's matplotlib).

Faces are made the way footage makes them:
- synthetic: package photos (scikit-image's astronaut, Grace Hopper) and, when ../shared is
  present, the real photos of ../shared/fixtures/faces (Obama's three photos, Biden), each
  scaled so its face is 24-100 px tall, pasted into a 640x360 frame, encoded as H.264 by PyAV
  at 150 or 600 kbit/s, motion-blurred or not, decoded, found by YuNet and described by SFace.
  Obama's second and third photos are compared with his first (another photo, another year);
  the single-photo people with their own photo (flattering, labelled so).
- real footage (../shared/fixtures/footage): the street clip's walker against a crop of his
  first frame, every other street face (strangers) against it and against the fixture photos;
  the corridor's four people (named by `footage_truth.corridor_person_at`) against their photos.

Then the rule: recall and false-claim seconds per person on the corridor and the street
(`footage_truth`), for the old rule (median of a track, tolerance 0.55) and the new one at its
tolerances; and whether the confidence means what it says (share right among faces given it).
"""

from __future__ import annotations

import argparse
import collections
import io
import itertools
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageOps

from bench.footage_truth import (
    CORRIDOR,
    CORRIDOR_S,
    STREET_S,
    STREET_WALKER,
    corridor_person_at,
    score,
)
from tools.reid import engine, synth
from tools.reid.engine import decode, detect, rejoin
from tools.reid.engine.analyze import video_spec
from tools.reid.engine.decode import sampled_frames
from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import analyse_segment, every_face
from tools.reid.engine.match import confidence
from tools.reid.engine.quality import Quality
from tools.reid.engine.references import load_persons
from tools.reid.engine.track import Track, build_tracks
from tools.reid.limits import Limits
from tools.reid.schemas import TOLERANCES, AnalysisOptions, DescriptorName, PersonResult

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FOOTAGE = SHARED / "footage"
CORRIDOR_CLIP = FOOTAGE / "corridor" / "corridor-phone.mp4"
CORRIDOR_PEOPLE = FOOTAGE / "corridor" / "people"
STREET = FOOTAGE / "street-1080p.mp4"
WALKER_BOX = (916, 635, 979, 721)
"""The street's walker in its first frame (as in tests/test_engine_real_footage.py)."""
HEIGHTS_PX = (24, 32, 40, 56, 80, 100)
BITRATES = (150_000, 600_000)
BLURS_PX = (0, 7)
FRAME = (640, 360)
MAX_PIXELS = 40_000_000
HEIGHT_BINS = ((0, 40), (40, 60), (60, 100), (100, 10_000))
YAW_BINS = ((0.0, 0.2), (0.2, 0.35), (0.35, 0.6), (0.6, 10.0))
SCORE_BINS = ((0.0, 0.8), (0.8, 0.9), (0.9, 1.01))


@dataclass(frozen=True)
class Sample:
    source: str
    same: bool
    distance: float
    quality: Quality


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return out.getvalue()


def _identities() -> dict[str, list[bytes]]:
    """Photos per person; the first of each is the reference."""
    people = {"Eileen": [_png(synth.astronaut())], "Grace": [_png(synth.grace_hopper())]}
    faces = SHARED / "faces"
    if faces.is_dir():
        people["Obama"] = [(faces / f).read_bytes() for f in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
        people["Biden"] = [(faces / "biden.jpg").read_bytes()]
    return people


def degraded(photo: bytes, height_px: int, bitrate: int, blur_px: int) -> np.ndarray:
    """The photo with its face ``height_px`` tall in a 640x360 frame, blurred, through H.264."""
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    rgb = np.asarray(image)
    found = detect.get_detector("yunet").detect(rgb, detect.photo_min_face(rgb.shape[0]))
    face = max(found, key=lambda d: d.box[3] - d.box[1])
    scale = height_px / (face.box[3] - face.box[1])
    small = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", FRAME, (96, 96, 96))
    centre = ((face.box[0] + face.box[2]) / 2 * scale, (face.box[1] + face.box[3]) / 2 * scale)
    canvas.paste(small, (round(FRAME[0] / 2 - centre[0]), round(FRAME[1] / 2 - centre[1])))
    pixels = np.asarray(canvas)
    if blur_px:  # a sideways motion blur of blur_px pixels
        pixels = cv2.filter2D(pixels, -1, np.full((1, blur_px), 1.0 / blur_px, np.float32))
    return _through_h264(pixels, bitrate)


def _through_h264(rgb: np.ndarray, bitrate: int, frames: int = 6) -> np.ndarray:
    """The last frame of a short H.264 clip of ``rgb`` (a slight drift, so frames differ)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=25, options={"preset": "veryfast"})
            stream.width, stream.height, stream.pix_fmt = FRAME[0], FRAME[1], "yuv420p"
            stream.bit_rate = bitrate
            stream.time_base = Fraction(1, 25)
            for n in range(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(rgb, n, axis=1)), format="rgb24")
                frame.pts = n
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
        with av.open(str(path)) as clip:
            return [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)][-1]


def synthetic_samples(name: DescriptorName) -> list[Sample]:
    descriptor = get_descriptor(name)
    people = _identities()
    references = load_persons({n: p[:1] for n, p in people.items()}, "yunet", name, MAX_PIXELS)
    samples = []
    for who, photos in people.items():
        probes = photos[1:] or photos[:1]
        source = "synthetic, other photo" if len(photos) > 1 else "synthetic, same photo"
        for photo in probes:
            for height in HEIGHTS_PX:
                for bitrate in BITRATES:
                    for blur in BLURS_PX:
                        described = largest_face(degraded(photo, height, bitrate, blur), name)
                        if described is None:
                            continue
                        vector, quality = described
                        for person in references:
                            d = float(descriptor.distances(vector[None], person.descriptors).min())
                            same = person.name == who
                            samples.append(Sample(source if same else "synthetic", same, d, quality))
    return samples


def largest_face(rgb: np.ndarray, name: DescriptorName = "sface") -> tuple[np.ndarray, Quality] | None:
    """The descriptor and quality of the largest face YuNet finds (down to 16 px)."""
    faces = every_face(rgb, detect.get_detector("yunet"), get_descriptor(name), 16)
    face = max(faces, key=lambda f: f.box[3] - f.box[1], default=None)
    if face is None or face.descriptor is None or face.quality is None:
        return None
    return face.descriptor, face.quality


def _footage_faces(
    path: Path, sample_fps: float, name: DescriptorName = "sface"
) -> Iterator[tuple[float, tuple[int, int, int, int], np.ndarray, Quality]]:
    detector, descriptor = detect.get_detector("yunet"), get_descriptor(name)
    with av.open(str(path)) as probe:
        height = probe.streams.video[0].height
    for frame in sampled_frames(path, sample_fps, 0, None, [0]):
        for face in every_face(frame.rgb, detector, descriptor, detect.video_min_face(height)):
            if face.descriptor is not None and face.quality is not None:
                yield frame.time, face.box, face.descriptor, face.quality


def _first_frame_crop(path: Path, box: tuple[int, int, int, int]) -> bytes:
    with av.open(str(path)) as container:
        first = next(container.decode(video=0)).to_image()
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    return _png(first.crop((left - width, top - height, right + width, bottom + height)))


def street_samples(name: DescriptorName) -> list[Sample]:
    descriptor = get_descriptor(name)
    faces_dir = SHARED / "faces"
    walker = load_persons({"Walker": [_first_frame_crop(STREET, WALKER_BOX)]}, "yunet", name, MAX_PIXELS)[0]
    others = load_persons(
        {"Obama": [faces_dir / "obama.jpg"], "Biden": [faces_dir / "biden.jpg"]}, "yunet", name, MAX_PIXELS
    )
    samples = []
    for time_s, box, vector, quality in _footage_faces(STREET, 4.0, name):
        if time_s == 0.0:
            continue
        is_walker = _is_walker(time_s, box)
        d = float(descriptor.distances(vector[None], walker.descriptors).min())
        samples.append(Sample("street walker" if is_walker else "street", is_walker, d, quality))
        for person in others:
            d = float(descriptor.distances(vector[None], person.descriptors).min())
            samples.append(Sample("street", False, d, quality))
    return samples


WALKER_PATH = (
    (0.0, 950),
    (0.52, 993),
    (1.0, 1016),
    (1.52, 1043),
    (2.0, 990),
    (2.52, 962),
    (3.0, 880),
    (3.52, 842),
    (4.0, 789),
)
"""(time, centre x) of his face on the sheets; his face's centre y stays at 680-770."""


def _is_walker(time_s: float, box: tuple[int, int, int, int]) -> bool:
    centre_x = float(np.interp(time_s, [t for t, _ in WALKER_PATH], [x for _, x in WALKER_PATH]))
    return abs((box[0] + box[2]) / 2 - centre_x) < 0.6 * (box[3] - box[1]) and 640 < (box[1] + box[3]) / 2 < 800


def corridor_samples(name: DescriptorName) -> list[Sample]:
    descriptor = get_descriptor(name)
    names = [*CORRIDOR]
    people = load_persons({n: [CORRIDOR_PEOPLE / f"{n.lower()}.jpg"] for n in names}, "yunet", name, MAX_PIXELS)
    samples = []
    for time_s, box, vector, quality in _footage_faces(CORRIDOR_CLIP, 4.0, name):
        who = corridor_person_at(time_s, box)
        if who is None:
            continue
        for person in people:
            d = float(descriptor.distances(vector[None], person.descriptors).min())
            samples.append(
                Sample("corridor" if person.name != who else "corridor, own photo", person.name == who, d, quality)
            )
    return samples


def _row(label: str, chosen: list[Sample]) -> str:
    same = np.array([s.distance for s in chosen if s.same])
    other = np.array([s.distance for s in chosen if not s.same])

    def stats(values: np.ndarray) -> str:
        if len(values) == 0:
            return f"{'-':>5} {'':>17}"
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return f"{len(values):5d} {p10:5.2f} {p50:5.2f} {p90:5.2f}"

    closest = f"{other.min():5.2f}" if len(other) else "    -"
    return f"{label:<26} {stats(same)}   {stats(other)}  {closest}"


def print_distributions(samples: list[Sample]) -> None:
    columns = " ".join(f"{c:>5}" for c in ("p10", "p50", "p90"))
    print(f"{'faces':<26} {'same':>5} {columns}   {'other':>5} {columns}  {'min':>5}")
    for source in sorted({s.source for s in samples if s.same}):
        print(_row(source, [s for s in samples if s.source == source or (not s.same and s.source in source)]))
    for low, high in HEIGHT_BINS:
        print(
            _row(
                f"height {low}-{high if high < 10_000 else ''} px",
                [s for s in samples if low <= s.quality.height < high],
            )
        )
    sharp = np.percentile([s.quality.sharpness for s in samples], [33, 67])
    thirds = (
        ("low", 0.0, float(sharp[0])),
        ("middle", float(sharp[0]), float(sharp[1])),
        ("high", float(sharp[1]), math.inf),
    )
    for label, below, above in thirds:
        print(
            _row(
                f"sharpness {label} ({below:.0f}-{above:.0f})",
                [s for s in samples if below <= s.quality.sharpness < above],
            )
        )
    for bottom, top in SCORE_BINS:
        print(
            _row(
                f"detector score {bottom:.1f}-{min(top, 1):.1f}",
                [s for s in samples if bottom <= s.quality.score < top],
            )
        )
    for least, most in YAW_BINS:
        print(
            _row(
                f"yaw {least:.2f}-{most if most < 10 else ''}",
                [s for s in samples if s.quality.yaw is not None and least <= abs(s.quality.yaw) < most],
            )
        )
    print(_row("good faces (quality.is_good)", [s for s in samples if s.quality.is_good()]))
    print(_row("other faces", [s for s in samples if not s.quality.is_good()]))


def fit_confidence(samples: list[Sample]) -> tuple[float, float]:
    """(centre, spread) of the logistic P(same person | distance), fitted on good faces by
    maximum likelihood (Newton's method on a, b of 1 / (1 + exp(a * d + b)))."""
    good = [s for s in samples if s.quality.is_good()]
    d = np.array([s.distance for s in good])
    y = np.array([s.same for s in good], dtype=float)
    a, b = 20.0, -12.0
    for _ in range(50):
        p = 1 / (1 + np.exp(a * d + b))
        gradient = np.array([np.sum((y - p) * -d), np.sum((y - p) * -1)])
        w = p * (1 - p)
        hessian = -np.array([[np.sum(w * d * d), np.sum(w * d)], [np.sum(w * d), np.sum(w)]])
        a, b = np.array([a, b]) - np.linalg.solve(hessian, gradient)
    return float(-b / a), float(1 / a)


def print_confidence(samples: list[Sample], name: DescriptorName) -> None:
    """Among good faces given a confidence, the share that are the right person."""
    scale = get_descriptor(name).scale
    centre, spread = fit_confidence(samples)
    print(
        f"\nconfidence: fitted on good faces, centre {centre:.3f}, spread {spread:.3f}; the engine uses "
        f"{scale.confidence_centre:g}, {scale.spread:g}. Share right among good faces given:"
    )
    good = [s for s in samples if s.quality.is_good()]
    for low, high in ((0.0, 0.1), (0.1, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.97), (0.97, 1.01)):
        chosen = [s for s in good if low <= confidence(s.distance, scale) < high]
        right = sum(s.same for s in chosen) / len(chosen) if chosen else float("nan")
        print(f"  {low:.2f}-{min(high, 1):.2f}: {len(chosen):5d} faces, {right:6.1%} right")


def print_references() -> None:
    """Nearest photo, mean of embeddings, mirrored copies: which references find people best."""
    descriptor = get_descriptor("sface")
    print("\nreferences: distance of the right person's faces (p50, p90), the nearest other person (min)")
    faces = SHARED / "faces"
    obama = [(faces / f).read_bytes() for f in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    biden = _strategies([(faces / "biden.jpg").read_bytes()])
    rows: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in biden}
    for left_out in range(3):
        others = _strategies([p for j, p in enumerate(obama) if j != left_out])
        for height in HEIGHTS_PX[2:]:
            for bitrate in BITRATES:
                for blur in BLURS_PX:
                    described = largest_face(degraded(obama[left_out], height, bitrate, blur))
                    if described is not None:
                        for k, (same, other) in rows.items():
                            same.append(float(descriptor.distances(described[0][None], others[k]).min()))
                            other.append(float(descriptor.distances(described[0][None], biden[k]).min()))
    _print_strategies("Obama, 2 photos, the 3rd degraded 40-100 px; Biden", rows)
    people = {n: _strategies([(CORRIDOR_PEOPLE / f"{n.lower()}.jpg").read_bytes()]) for n in CORRIDOR}
    rows = {k: ([], []) for k in biden}
    for time_s, box, vector, quality in _footage_faces(CORRIDOR_CLIP, 4.0):
        who = corridor_person_at(time_s, box)
        if who is not None and quality.is_good():
            for name, strategies in people.items():
                for k, (same, other) in rows.items():
                    (same if name == who else other).append(
                        float(descriptor.distances(vector[None], strategies[k]).min())
                    )
    _print_strategies("corridor good faces, 1 photo each", rows)


def _strategies(photos: list[bytes]) -> dict[str, np.ndarray]:
    def descriptors(images: list[bytes]) -> np.ndarray:
        return np.stack([load_persons({"x": [p]}, "yunet", "sface", MAX_PIXELS)[0].descriptors[0] for p in images])

    plain = descriptors(photos)
    mirrored = descriptors([_png(ImageOps.mirror(Image.open(io.BytesIO(p)).convert("RGB"))) for p in photos])

    def mean(vectors: np.ndarray) -> np.ndarray:
        centre = vectors.mean(axis=0)
        return (centre / np.linalg.norm(centre))[None]

    both = np.vstack([plain, mirrored])
    return {
        "nearest photo": plain,
        "mean of photos": mean(plain),
        "photos and their mean": np.vstack([plain, mean(plain)]),
        "nearest, with mirrored": both,
        "mean, with mirrored": mean(both),
    }


def _print_strategies(label: str, rows: dict[str, tuple[list[float], list[float]]]) -> None:
    print(f"  {label}:")
    for k, (same, other) in rows.items():
        p50, p90 = np.percentile(same, [50, 90])
        print(
            f"    {k:<24} same p50 {p50:.3f} p90 {p90:.3f}, within 0.6: {np.mean(np.array(same) <= 0.6):4.0%}; "
            f"others from {min(other):.3f}"
        )


def print_rule(name: DescriptorName) -> None:
    """Recall and false claims on the real clips at the descriptor's tolerances: the five
    corridor photos asked together, then each person asked alone (as a team usually asks: no
    other photo then gives a margin), the street's walker, and strangers in the street."""
    corridor = {n: [CORRIDOR_PEOPLE / f"{n.lower()}.jpg"] for n in CORRIDOR}
    walker = _first_frame_crop(STREET, WALKER_BOX)
    faces_dir = SHARED / "faces"
    strangers = {"Obama": [faces_dir / "obama.jpg", faces_dir / "obama2.jpg"], "Biden": [faces_dir / "biden.jpg"]}
    scale = TOLERANCES[name]
    print("\nthe rule on real footage: recall of visible time / false-claim seconds")
    for tolerance in sorted({scale.default, scale.loosest, *CHECKED_TOLERANCES[name]}):
        options = _beyond_range(name, tolerance)
        together = engine.analyze(CORRIDOR_CLIP, corridor, options=options).persons
        alone = [engine.analyze(CORRIDOR_CLIP, {n: corridor[n]}, options=options).persons[0] for n in corridor]

        def cells(persons: list[PersonResult], period: float = 1 / options.sample_fps) -> str:
            scores = ((p.name, score(p, CORRIDOR[p.name], CORRIDOR_S, period)) for p in persons)
            return ", ".join(f"{n} {s.recall:.0%}/{s.false_s:g}s" for n, s in scores)

        street = engine.analyze(STREET, {"Walker": [walker]}, options=options)
        s = score(street.persons[0], STREET_WALKER, STREET_S, 1 / options.sample_fps)
        crowd = engine.analyze(STREET, strangers, options=options)
        named = [p.name for p in crowd.found()]
        print(
            f"  tolerance {tolerance:g}: corridor {cells(together)}; each alone {cells(alone)}; "
            f"street walker {s.recall:.0%}/{s.false_s:g}s; strangers named in the street: {named or 'none'}"
        )


def _beyond_range(name: DescriptorName, tolerance: float) -> AnalysisOptions:
    """Options at ``tolerance``, also past the range a user may give: to show why it stops there."""
    return AnalysisOptions.model_construct(**{**AnalysisOptions(descriptor=name).model_dump(), "tolerance": tolerance})


CHECKED_TOLERANCES: dict[DescriptorName, tuple[float, ...]] = {"sface": (0.55, 0.65), "dlib": (0.4, 0.45, 0.6, 0.8)}
"""Tolerances printed beside the descriptor's default and loosest: either side of the range's top,
and dlib's old default and top."""


def _engine_tracks(path: Path, name: DescriptorName) -> list[Track]:
    """The engine's own tracks of a clip at the default sampling, in one process."""
    options, descriptor = AnalysisOptions(descriptor=name), get_descriptor(name)
    info = decode.probe(path, Limits())
    spec = video_spec(options, descriptor, info.height)
    segment = analyse_segment(path, spec, 0, decode.grid_size(info.duration_s, options.sample_fps))
    return build_tracks(segment.frames, options.sample_fps, descriptor)


def print_rejoin(name: DescriptorName) -> None:
    """Every pair of tracks of one shot that ``rejoin`` weighs (the later starting within
    ``REJOIN_S`` of the earlier's end): their nearest faces' distance, whether they are one
    person by the truth written by eye, and whether they were chained."""
    descriptor = get_descriptor(name)
    print(
        f"\nrejoin: pairs of tracks of one shot, the later within {rejoin.REJOIN_S:g} s (chained at <= "
        f"{descriptor.scale.rejoin:g}, singled out by {descriptor.scale.margin:g}, "
        f"moved <= {rejoin.REJOIN_MOVE:g} faces)"
    )
    clips = (
        ("corridor", CORRIDOR_CLIP, lambda s: corridor_person_at(s.time, s.face.box)),
        ("street", STREET, lambda s: "walker" if _is_walker(s.time, s.face.box) else None),
    )
    for label, path, who in clips:
        tracks = _engine_tracks(path, name)
        chained = {(id(a), id(b)) for chain in rejoin.chains(tracks, descriptor) for a, b in itertools.pairwise(chain)}
        owners = [collections.Counter(who(s) for s in t.sightings).most_common(1)[0][0] for t in tracks]
        for distance, a, b in sorted(rejoin.candidates(tracks, descriptor))[:12]:
            known = owners[a] is not None and owners[b] is not None
            truth = ("same" if owners[a] == owners[b] else "other") if known or owners[a] != owners[b] else "?"
            print(
                f"  {label}: {tracks[a].start:4.1f}-{tracks[a].end:4.1f} s ({owners[a] or '?'}) then "
                f"{tracks[b].start:4.1f}-{tracks[b].end:4.1f} s ({owners[b] or '?'}): {distance:.2f}, {truth} person, "
                f"{'chained' if (id(tracks[a]), id(tracks[b])) in chained else 'not chained'}"
            )


def plot(samples: list[Sample], path: Path, name: DescriptorName) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(16, 4), sharey=True)
    measures = (
        ("face height (px)", lambda q: q.height),
        ("sharpness (Laplacian variance)", lambda q: q.sharpness),
        ("detector score", lambda q: q.score),
        ("|yaw| (nose offset / eye distance)", lambda q: abs(q.yaw) if q.yaw is not None else np.nan),
    )
    for axis, (label, value) in zip(axes, measures, strict=True):
        for same, colour, legend in ((False, "tab:red", "other person"), (True, "tab:green", "same person")):
            chosen = [s for s in samples if s.same is same]
            axis.scatter(
                [value(s.quality) for s in chosen], [s.distance for s in chosen], s=6, alpha=0.4, c=colour, label=legend
            )
        axis.set_xlabel(label)
    axes[0].set_xscale("log")
    axes[1].set_xscale("log")
    label = {"sface": "SFace's cosine", "dlib": "dlib's Euclidean"}[name]
    axes[0].set_ylabel(f"{label} distance to the person's nearest photo")
    axes[0].legend()
    figure.suptitle(f"{label} distances by face quality: synthetic degraded photos and real footage")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    print(f"\nplot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", type=Path, default=Path("build/calibration.png"))
    parser.add_argument("--descriptor", choices=["sface", "dlib"], default="sface")
    parser.add_argument("--no-rule", action="store_true", help="skip the runs of the whole engine on the clips")
    args = parser.parse_args()
    name: DescriptorName = args.descriptor
    samples = synthetic_samples(name)
    if FOOTAGE.is_dir():
        samples += street_samples(name) + corridor_samples(name)
    else:
        print(f"real footage not present ({FOOTAGE}): synthetic faces only")
    print(f"descriptor {name}")
    print_distributions(samples)
    print_confidence(samples, name)
    if FOOTAGE.is_dir() and name == "sface":  # how to use several photos: measured with SFace
        print_references()
    if FOOTAGE.is_dir() and not args.no_rule:
        print_rule(name)
        print_rejoin(name)
    plot(samples, args.plot, name)


if __name__ == "__main__":
    main()
