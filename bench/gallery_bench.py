"""Gallery benchmark: loading a tenant's gallery and matching tracks against it, as it grows.

Run on demand (`python -m bench.gallery_bench`); never part of `make test`. It enrols 1,000
people (3 faces each, straight into the gallery file: the photo checks are not what is
measured) and times `TenantGallery.everyone` (SQLite read and stacking); then, for galleries
of 1,000 to 100,000 faces, times the engine's decision over video tracks (`match.identify`:
one matrix product per track over every enrolled face, a grouped minimum per person, the
median, the tolerance and the margin against the next person).

Embeddings are random unit vectors (SFace's are unit vectors too); each track is a noisy copy of
one enrolled person's face at SFace distance ~0.3, so every track should be named, and the
bench checks it is. Figures: milliseconds per track, per 100 tracks, and the matrix's memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.reid.engine.embed import get_descriptor
from tools.reid.engine.frames import Face
from tools.reid.engine.match import identify
from tools.reid.engine.references import Person
from tools.reid.engine.track import Sighting, Track
from tools.reid.gallery import Gallery, model_digest
from tools.reid.gallery.store import NewFace

DIM = 128
FACES_PER_PERSON = 3
TRACK_FACES = 5
NOISE = 0.55
"""Gaussian noise (relative to a unit vector's spread) that puts a copy ~0.3 cosine distance away."""


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def gallery_load(people: int, rng: np.random.Generator) -> float:
    """Seconds to read and stack everyone enrolled, from a gallery file of ``people``."""
    with tempfile.TemporaryDirectory() as folder:
        gallery = Gallery(Path(folder) / "g.db")
        for n in range(people):
            faces = [
                NewFace(e, b"\xff\xd8" + bytes(1500), 0.0, f"{n}-{k}", "bench")
                for k, e in enumerate(unit(rng.standard_normal((FACES_PER_PERSON, DIM))))
            ]
            gallery.store.add_person("T", f"Person {n:05d}", "bench", "bench", "sface", model_digest("sface"), faces)
        started = time.perf_counter()
        everyone, _ = gallery.tenant("T").everyone("sface")
        elapsed = time.perf_counter() - started
        assert len(everyone) == people
        gallery.close()
    return elapsed


def tracks_of(persons: list[Person], count: int, rng: np.random.Generator) -> tuple[list[Track], list[str]]:
    tracks, truth = [], []
    for t in range(count):
        person = persons[int(rng.integers(len(persons)))]
        base = person.descriptors[0]
        faces = unit(base + NOISE * rng.standard_normal((TRACK_FACES, DIM)) / np.sqrt(DIM))
        sightings = [
            Sighting(index=t * 100 + k, time=float(k), face=Face(box=(0, 0, 64, 64), score=0.9, descriptor=faces[k]))
            for k in range(TRACK_FACES)
        ]
        tracks.append(Track(sightings))
        truth.append(person.name)
    return tracks, truth


def matching(faces: int, track_count: int, rng: np.random.Generator) -> tuple[float, float, int]:
    """(ms per track, share of tracks named right, matrix MiB) for a gallery of ``faces`` faces."""
    people = faces // FACES_PER_PERSON
    persons = [Person(f"P{n}", unit(rng.standard_normal((FACES_PER_PERSON, DIM)))) for n in range(people)]
    tracks, truth = tracks_of(persons, track_count, rng)
    descriptor = get_descriptor("sface")
    started = time.perf_counter()
    found = identify(tracks, persons, 0.55, descriptor, video=True)
    elapsed = time.perf_counter() - started
    named = {id(i.track): name for name, items in found.items() for i in items}
    right = sum(1 for track, name in zip(tracks, truth, strict=True) if named.get(id(track)) == name)
    return 1000 * elapsed / track_count, right / track_count, faces * DIM * 4 // 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000, help="people enrolled for the load test")
    parser.add_argument("--tracks", type=int, default=100, help="tracks matched per gallery size")
    parser.add_argument(
        "--faces", type=int, nargs="+", default=[1_000, 3_000, 10_000, 30_000, 100_000], help="gallery sizes"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    print(f"load everyone: {args.people} people x {FACES_PER_PERSON} faces: {gallery_load(args.people, rng):.3f} s")
    print(f"{'faces':>8} {'people':>7} {'ms/track':>9} {'s/100 tracks':>13} {'named right':>12} {'matrix MiB':>11}")
    for faces in args.faces:
        per_track, right, mib = matching(faces, args.tracks, rng)
        print(
            f"{faces:>8} {faces // FACES_PER_PERSON:>7} {per_track:>9.2f} {per_track / 10:>13.2f} "
            f"{right:>12.0%} {mib:>11}"
        )


if __name__ == "__main__":
    main()
