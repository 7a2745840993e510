"""Who else is here: the face tracks nobody matched, grouped across shots into unknown people.

Tracks are grouped by agglomerative clustering with average linkage: the distance of two
groups is the mean distance between their tracks, and a track's distance to another is the
distance between their mean descriptors (for SFace's cosine distance, exactly the mean
distance between their faces). Merging stops at the descriptor's ``GROUP_DISTANCE``. Two
tracks with faces in one frame are two people: such groups never merge, and each merge
passes the constraint on.

A group is not shown as somebody else when it may be a person asked for: when one of its
tracks is within the tolerance plus the margin (``GroupingRules.doubtful``) of one of that
person's found tracks (never in a frame with it), or its faces are, at the median, that near
that person's photos: too like them to call a stranger, too unsure to name. Showing an asked
person as a stranger is the worse mistake, so this distance is looser than the grouping's. A group
whose clearest face the detector scores below ``MIN_FACE_SCORE`` is left out too: on real
footage those were prints and patterns, not faces.

Everything runs in the calling process after all segments are joined, over tracks in their
order of appearance, ties broken by that order: the same footage gives the same people with
one worker, many, or a cluster.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.track import Sighting, Track
from tools.reid.schemas import DescriptorName, FaceEmbeddings, Keyframe, UnknownAppearance, UnknownPerson

GROUP_DISTANCE: dict[DescriptorName, float] = {"sface": 0.6, "dlib": 0.55}
"""Average distance between two groups' tracks up to which they are one person. SFace's was
measured on the real street and corridor clips (README, "Unknown people"): no group mixed two
people up to 0.65; dlib's is its tolerance, not measured on footage."""
MIN_FACE_SCORE = 0.8
"""Least detector score of an unknown person's clearest face (YuNet's scale)."""
MAX_TRACKS = 1500
"""Most unknown tracks grouped (the most described first): the clustering's cost grows with
the cube of their number, and tracks beyond these are glimpses in a crowd."""
MAX_EMBEDDINGS = 12
"""Descriptors kept per unknown person for naming them, spread over their time on screen."""


@dataclass(frozen=True)
class GroupingRules:
    threshold: float
    min_screen_s: float
    max_people: int
    gap_s: float
    doubtful: float
    """Median distance to an asked person's photos up to which a group may be them."""


def unknown_people(
    unknown: Sequence[Track],
    found: Sequence[Track],
    references: Sequence[np.ndarray],
    descriptor: Descriptor,
    rules: GroupingRules,
) -> list[UnknownPerson]:
    """The unknown people among ``unknown`` tracks, longest on screen first, bounded by ``rules``.

    Args:
        unknown: the tracks identification left unknown, in the order they were built.
        found: the found persons' tracks: a group near one of them is left out.
        references: each asked person's photo descriptors: a group like them is left out.
        descriptor: reads the descriptors' distances.
        rules: the distances, the least screen time, the most people, the gap merged.
    """
    if rules.max_people == 0:
        return []
    groups = group_tracks(_candidates(unknown), descriptor, rules.threshold)
    strangers = [g for g in groups if not _may_be_asked(g, found, references, descriptor, rules)]
    built = [_person(g, rules.gap_s, descriptor) for g in strangers if _clearest(g).face.score >= MIN_FACE_SCORE]
    kept = sorted((p for p in built if p.total_s >= rules.min_screen_s), key=lambda p: (-p.total_s, p.first_seen_s))
    return [_labelled(p, number) for number, p in enumerate(kept[: rules.max_people], start=1)]


def _candidates(unknown: Sequence[Track]) -> list[Track]:
    """The described unknown tracks, at most ``MAX_TRACKS`` (most described first), in their order."""
    described = [(i, t) for i, t in enumerate(unknown) if t.described()]
    if len(described) > MAX_TRACKS:
        ranked = sorted(described, key=lambda pair: (-len(pair[1].described()), pair[0]))[:MAX_TRACKS]
        described = sorted(ranked, key=lambda pair: pair[0])
    return [t for _, t in described]


def group_tracks(tracks: Sequence[Track], descriptor: Descriptor, threshold: float) -> list[list[Track]]:
    """Constrained average-linkage clustering of described ``tracks``: the groups, each in
    track order, ordered by their first track."""
    if not tracks:
        return []
    count = len(tracks)
    means = _means(tracks)
    distance = descriptor.distances(means, means).astype(np.float64)
    distance[_share_a_frame(tracks, tracks)] = np.inf
    np.fill_diagonal(distance, np.inf)
    sizes = np.ones(count)
    members = [[i] for i in range(count)]
    for _ in range(count - 1):
        a, b = sorted(divmod(int(np.argmin(distance)), count))
        if distance[a, b] > threshold:
            break
        merged = (sizes[a] * distance[a] + sizes[b] * distance[b]) / (sizes[a] + sizes[b])
        merged[np.isinf(distance[a]) | np.isinf(distance[b])] = np.inf
        distance[a, :], distance[:, a] = merged, merged
        distance[b, :], distance[:, b] = np.inf, np.inf
        distance[a, a] = np.inf
        sizes[a] += sizes[b]
        members[a] += members[b]
        members[b] = []
    return [[tracks[i] for i in sorted(m)] for m in members if m]


def _means(tracks: Sequence[Track]) -> np.ndarray:
    return np.stack([t.descriptors().mean(axis=0) for t in tracks]).astype(np.float32)


def _share_a_frame(a: Sequence[Track], b: Sequence[Track]) -> np.ndarray:
    """(len(a), len(b)) True where two tracks have faces in one frame."""
    frames_b = [t.indices() for t in b]
    return np.array([[not track.indices().isdisjoint(other) for other in frames_b] for track in a], bool).reshape(
        len(a), len(b)
    )


def _may_be_asked(
    group: list[Track],
    found: Sequence[Track],
    references: Sequence[np.ndarray],
    descriptor: Descriptor,
    rules: GroupingRules,
) -> bool:
    """Whether the group is near a found person's track, or like an asked person's photos."""
    if found:
        near = descriptor.distances(_means(group), _means(found)).astype(np.float64)
        near[_share_a_frame(group, found)] = np.inf
        if near.min() <= rules.doubtful:
            return True
    faces = np.concatenate([t.descriptors() for t in group])
    return any(
        float(np.median(descriptor.distances(faces, photos).min(axis=1))) <= rules.doubtful for photos in references
    )


def _person(tracks: list[Track], gap_s: float, descriptor: Descriptor) -> UnknownPerson:
    """One unknown person from their tracks: appearances with gaps up to ``gap_s`` merged."""
    spans: list[list[Track]] = []
    for track in sorted(tracks, key=lambda t: (t.start, t.end)):
        if spans and track.start - max(t.end for t in spans[-1]) <= gap_s:
            spans[-1].append(track)
        else:
            spans.append([track])
    appearances = [
        UnknownAppearance(start=span[0].start, end=max(t.end for t in span), keyframe=_keyframe(_clearest(span)))
        for span in spans
    ]
    return UnknownPerson(
        id="",
        label="",
        first_seen_s=appearances[0].start,
        last_seen_s=max(a.end for a in appearances),
        total_s=round(sum(a.end - a.start for a in appearances), 3),
        appearances=appearances,
        keyframe=_keyframe(_clearest(tracks)),
        tracks=len(tracks),
        embeddings=_embeddings(tracks, descriptor),
    )


def _clearest(tracks: Sequence[Track]) -> Sighting:
    """The largest face the detector is sure of (else the surest), the earliest of equals."""
    sightings = [s for t in tracks for s in t.sightings]
    sure = [s for s in sightings if s.face.score >= MIN_FACE_SCORE]
    if not sure:
        return max(sightings, key=lambda s: (s.face.score, -s.time))
    return max(sure, key=lambda s: (_area(s), -s.time))


def _area(sighting: Sighting) -> int:
    left, top, right, bottom = sighting.face.box
    return (right - left) * (bottom - top)


def _keyframe(sighting: Sighting) -> Keyframe:
    return Keyframe(time=sighting.time, box=sighting.face.box)


def _embeddings(tracks: Sequence[Track], descriptor: Descriptor) -> FaceEmbeddings:
    """Up to ``MAX_EMBEDDINGS`` of the person's descriptors, evenly spread over time."""
    described = sorted((s for t in tracks for s in t.described()), key=lambda s: (s.time, s.face.box))
    picks = np.unique(np.linspace(0, len(described) - 1, min(MAX_EMBEDDINGS, len(described))).round().astype(int))
    vectors = np.stack([described[i].face.descriptor for i in picks]).astype("<f4")
    return FaceEmbeddings(
        descriptor=descriptor.name, count=len(vectors), vectors=base64.b64encode(vectors.tobytes()).decode("ascii")
    )


def embedding_vectors(embeddings: FaceEmbeddings) -> np.ndarray:
    """The (count, 128) float32 descriptors of ``embeddings``."""
    return np.frombuffer(base64.b64decode(embeddings.vectors), dtype="<f4").reshape(embeddings.count, -1).copy()


def _labelled(person: UnknownPerson, number: int) -> UnknownPerson:
    return person.model_copy(update={"id": f"person-{number}", "label": f"Person {number}"})
