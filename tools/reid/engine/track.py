"""Linking faces across sampled frames into tracks: one track, one person on screen.

A face joins the track whose last box it overlaps most; a face that jumped (fast motion,
low sampling rate) joins a recent track whose descriptors it resembles. A track survives a
few missed detections (a turned head, a passer-by in front).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tools.reid.engine.frames import Face, FrameFaces
from tools.reid.engine.geometry import iou

LINK_IOU = 0.3
LINK_DISTANCE = 0.45
"""Descriptors this close are one person even when the boxes do not overlap."""
MAX_MISSED_S = 1.5


@dataclass
class Sighting:
    index: int
    time: float
    face: Face


@dataclass
class Track:
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    @property
    def start(self) -> float:
        return self.sightings[0].time

    @property
    def end(self) -> float:
        return self.sightings[-1].time

    def described(self) -> list[Sighting]:
        return [s for s in self.sightings if s.face.descriptor is not None]

    def descriptors(self) -> np.ndarray:
        described = self.described()
        return np.stack([s.face.descriptor for s in described]) if described else np.zeros((0, 128), np.float32)

    def indices(self) -> set[int]:
        return {s.index for s in self.sightings}


def build_tracks(frames: Iterable[FrameFaces], sample_fps: float) -> list[Track]:
    """Tracks over frames given in time order."""
    max_missed = max(1, round(MAX_MISSED_S * sample_fps))
    tracks: list[Track] = []
    for frame in frames:
        live = [t for t in tracks if frame.index - t.last.index <= max_missed + 1]
        unlinked = _link_by_overlap(frame, live)
        unlinked = _link_by_likeness(frame, unlinked, live)
        tracks.extend(Track([Sighting(frame.index, frame.time, face)]) for face in unlinked)
    return tracks


def _link_by_overlap(frame: FrameFaces, live: list[Track]) -> list[Face]:
    pairs = sorted(
        (
            (iou(face.box, track.last.face.box), i, j)
            for i, face in enumerate(frame.faces)
            for j, track in enumerate(live)
        ),
        reverse=True,
    )
    used_faces: set[int] = set()
    used_tracks: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < LINK_IOU:
            break
        if i in used_faces or j in used_tracks:
            continue
        live[j].sightings.append(Sighting(frame.index, frame.time, frame.faces[i]))
        used_faces.add(i)
        used_tracks.add(j)
    return [face for i, face in enumerate(frame.faces) if i not in used_faces]


def _link_by_likeness(frame: FrameFaces, faces: list[Face], live: list[Track]) -> list[Face]:
    free = [t for t in live if t.last.index != frame.index and len(t.described())]
    unlinked = []
    for face in faces:
        if face.descriptor is None or not free:
            unlinked.append(face)
            continue
        gaps = [float(np.min(np.linalg.norm(t.descriptors() - face.descriptor, axis=1))) for t in free]
        best = int(np.argmin(gaps))
        if gaps[best] <= LINK_DISTANCE:
            free.pop(best).sightings.append(Sighting(frame.index, frame.time, face))
        else:
            unlinked.append(face)
    return unlinked
