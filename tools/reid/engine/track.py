"""Linking faces across sampled frames into tracks: one track, one person on screen.

A face joins the track whose last box it overlaps most, unless both are described and their
descriptors say they are different people (``Scale.split``): a person walking into the
place another just left is not that person. A face that jumped (fast motion, low sampling
rate) joins a recent track whose descriptors it resembles (``Scale.link``). A track
survives a few missed detections (a turned head, a passer-by in front), never a shot cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.frames import Face, FrameFaces
from tools.reid.engine.geometry import iou

LINK_IOU = 0.3
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

    def last_descriptor(self) -> np.ndarray | None:
        return next((s.face.descriptor for s in reversed(self.sightings) if s.face.descriptor is not None), None)

    def described(self) -> list[Sighting]:
        return [s for s in self.sightings if s.face.descriptor is not None]

    def descriptors(self) -> np.ndarray:
        described = self.described()
        return np.stack([s.face.descriptor for s in described]) if described else np.zeros((0, 128), np.float32)

    def indices(self) -> set[int]:
        return {s.index for s in self.sightings}


def build_tracks(frames: Iterable[FrameFaces], sample_fps: float, descriptor: Descriptor) -> list[Track]:
    """Tracks over frames given in time order."""
    max_missed = max(1, round(MAX_MISSED_S * sample_fps))
    tracks: list[Track] = []
    shot: list[Track] = []
    for frame in frames:
        if frame.cut_before:
            shot = []
        live = [t for t in shot if frame.index - t.last.index <= max_missed + 1]
        unlinked = _link_by_overlap(frame, live, descriptor)
        unlinked = _link_by_likeness(frame, unlinked, live, descriptor)
        started = [Track([Sighting(frame.index, frame.time, face)]) for face in unlinked]
        tracks += started
        shot += started
    return tracks


def _link_by_overlap(frame: FrameFaces, live: list[Track], descriptor: Descriptor) -> list[Face]:
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
        if i in used_faces or j in used_tracks or _unlike(frame.faces[i], live[j], descriptor):
            continue
        live[j].sightings.append(Sighting(frame.index, frame.time, frame.faces[i]))
        used_faces.add(i)
        used_tracks.add(j)
    return [face for i, face in enumerate(frame.faces) if i not in used_faces]


def _unlike(face: Face, track: Track, descriptor: Descriptor) -> bool:
    """Both described, and too far apart to be one person."""
    before = track.last_descriptor()
    if face.descriptor is None or before is None:
        return False
    return float(descriptor.distances(face.descriptor[None], before[None])[0, 0]) > descriptor.scale.split


def _link_by_likeness(frame: FrameFaces, faces: list[Face], live: list[Track], descriptor: Descriptor) -> list[Face]:
    free = [t for t in live if t.last.index != frame.index and len(t.described())]
    unlinked = []
    for face in faces:
        if face.descriptor is None or not free:
            unlinked.append(face)
            continue
        gaps = [float(np.min(descriptor.distances(face.descriptor[None], t.descriptors()))) for t in free]
        best = int(np.argmin(gaps))
        if gaps[best] <= descriptor.scale.link:
            free.pop(best).sightings.append(Sighting(frame.index, frame.time, face))
        else:
            unlinked.append(face)
    return unlinked
