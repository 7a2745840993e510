"""Linking faces across sampled frames into tracks: one track, one person on screen.

A described face first joins the recent track whose descriptors it resembles most, when
they are surely the same person (``Scale.link``): in a crowd, a walking face moves further
between samples than the gap to the face behind it, so likeness beats overlap (on the street
a woman close to the camera crossed 4-5 face sizes a sample, and only likeness kept her track). Any other
face joins the track whose last face it is nearest to, when it can be that face moved a
little (``geometry.follow_distance``), unless both are described and their
descriptors say they are different people (``Scale.split``): a person walking into the
place another just left is not that person (judged on good faces only, ``quality``). A
track survives a few missed detections (a turned head, a passer-by in front), never a shot
cut. Faces that all moved alike since the previous sample moved with the camera (a hand-held
phone shakes): ``geometry.camera_shift`` is taken off their moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.frames import Face, FrameFaces
from tools.reid.engine.geometry import camera_shift, follow_distance

MAX_MISSED_S = 1.0


@dataclass
class Sighting:
    index: int
    time: float
    face: Face


@dataclass
class Track:
    sightings: list[Sighting] = field(default_factory=list)
    shot: int = 0
    """Which shot of the video it is in, counted from 0: tracks of one shot may be one person
    hidden for a moment (``rejoin``), never tracks of two."""

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
        descriptors = [s.face.descriptor for s in self.sightings if s.face.descriptor is not None]
        return np.stack(descriptors) if descriptors else np.zeros((0, 128), np.float32)

    def indices(self) -> set[int]:
        return {s.index for s in self.sightings}


def build_tracks(frames: Iterable[FrameFaces], sample_fps: float, descriptor: Descriptor) -> list[Track]:
    """Tracks over frames given in time order."""
    max_missed = max(1, round(MAX_MISSED_S * sample_fps))
    tracks: list[Track] = []
    shot: list[Track] = []
    number = 0
    for frame in frames:
        if frame.cut_before:
            shot = []
            number += 1
        live = [t for t in shot if frame.index - t.last.index <= max_missed + 1]
        unlinked = _link_by_likeness(frame, frame.faces, live, descriptor)
        unlinked = _link_by_position(frame, unlinked, live, descriptor)
        started = [Track([Sighting(frame.index, frame.time, face)], number) for face in unlinked]
        tracks += started
        shot += started
    return tracks


def _link_by_position(frame: FrameFaces, faces: list[Face], live: list[Track], descriptor: Descriptor) -> list[Face]:
    """Links faces to the tracks whose last face they follow, nearest pairs first."""
    free = [t for t in live if t.last.index != frame.index]
    shift = camera_shift([face.box for face in faces], [track.last.face.box for track in free])
    moves = (
        (follow_distance(face.box, track.last.face.box, shift), i, j)
        for i, face in enumerate(faces)
        for j, track in enumerate(free)
    )
    pairs = sorted((moved, i, j) for moved, i, j in moves if moved is not None)
    used_faces: set[int] = set()
    used_tracks: set[int] = set()
    for _, i, j in pairs:
        if i in used_faces or j in used_tracks or _unlike(faces[i], free[j], descriptor):
            continue
        free[j].sightings.append(Sighting(frame.index, frame.time, faces[i]))
        used_faces.add(i)
        used_tracks.add(j)
    return [face for i, face in enumerate(faces) if i not in used_faces]


def _unlike(face: Face, track: Track, descriptor: Descriptor) -> bool:
    """Both good faces (``quality``), and too far apart to be one person: a small, blurred
    or turned face sits far from its own person's other faces, so it never splits a track."""
    if face.descriptor is None or face.quality is None or not face.quality.is_good():
        return False
    before = next((s.face for s in reversed(track.sightings) if _good(s.face)), None)
    if before is None or before.descriptor is None:
        return False
    return float(descriptor.distances(face.descriptor[None], before.descriptor[None])[0, 0]) > descriptor.scale.split


def _good(face: Face) -> bool:
    return face.descriptor is not None and face.quality is not None and face.quality.is_good()


def _link_by_likeness(frame: FrameFaces, faces: list[Face], live: list[Track], descriptor: Descriptor) -> list[Face]:
    """Links described faces to tracks they surely continue, nearest pairs first."""
    free = [t for t in live if t.last.index != frame.index and t.described()]
    pairs = sorted(
        (float(np.min(descriptor.distances(face.descriptor[None], track.descriptors()))), i, j)
        for i, face in enumerate(faces)
        if face.descriptor is not None
        for j, track in enumerate(free)
    )
    used_faces: set[int] = set()
    used_tracks: set[int] = set()
    for distance, i, j in pairs:
        if distance > descriptor.scale.link:
            break
        if i in used_faces or j in used_tracks:
            continue
        free[j].sightings.append(Sighting(frame.index, frame.time, faces[i]))
        used_faces.add(i)
        used_tracks.add(j)
    return [face for i, face in enumerate(faces) if i not in used_faces]
