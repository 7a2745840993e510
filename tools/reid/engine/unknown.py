"""Who else is here: the face tracks nobody matched, grouped across shots into unknown people.

Tracks are grouped by agglomerative clustering with average linkage: the distance of two
groups is the mean distance between their tracks, and a track's distance to another is the
distance between their mean descriptors (for SFace's cosine distance, exactly the mean
distance between their faces). Merging stops at the descriptor's ``GROUP_DISTANCE``. Two
tracks with faces in one frame are two people: such groups never merge, and each merge
passes the constraint on.

A group is not shown as somebody else when it may be a person asked for. Showing an asked
person as a stranger is the worse mistake, so the guards are looser than the grouping; but a
group too readily taken for an asked person hides a real stranger, so what the footage shows of
them comes before their photo. For each asked person (``Asked``: their photos, the tracks found
to be them, and those of the tracks found surely, within the default tolerance):

- A track on screen in one frame with one of their surely found tracks is not them: one person
  is not two faces at once. A group's other tracks are judged by the guards below, as if alone:
  that a group is one person is the grouping's claim, not a proof (SFace's groups were pure on
  the real clips, dlib's were not). On the corridor Atinkum's far track shares frames with
  Freda's found track, yet his faces sit 0.72-0.73 from her photo, and that likeness alone hid
  him; his close track, alone in its frames, sits 0.67 from her found track and stays back.
- A group with a track within the tolerance plus the margin (``GroupingRules.doubtful``) of one
  of their found tracks may be them.
- A group any of whose faces is within ``LIKE_PHOTO`` of their photos (``GroupingRules.like_photo``:
  a person's small, unsure faces at the far end of a corridor sat 0.67-0.96 from their photo,
  Atinkum's nearest at 0.72) may be them, unless
  they were surely found here and none of its faces comes within ``GroupingRules.unlike_found``
  of any of those faces: the same camera, light and day say it is someone else, which a photo
  from another year cannot outweigh. On the corridor Atinkum's missed far-away track came
  0.50-0.55 near his found faces; the unasked people a photo hid, no nearer than 0.71-0.76
  (Freda: 0.63 from Liz's photo, 0.72 from Liz's found faces).

Only surely found tracks clear a group: at a tolerance of 0.7 the matcher named Freda's track
Liz (at 0.67), and a wrong track would vouch for whoever is on screen beside it.

The nearest single face is the statistic for both likenesses, not the matcher's mean of the 3
nearest good faces: Atinkum's far track has no good face, and its 3 nearest sit 0.84 from his
photo (his nearest 0.72), so the matcher's statistic would show him, asked for, as a stranger.
The nearest face also errs on the safe side as footage grows: more faces, a nearer pair, more
groups kept back. A group whose clearest face the detector scores below ``MIN_FACE_SCORE`` is
left out too: on real footage those were prints and patterns, not faces.

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

GROUP_DISTANCE: dict[DescriptorName, float] = {"sface": 0.6, "dlib": 0.4}
"""Average distance between two groups' tracks up to which they are one person, measured on the
real street and corridor clips (README, "Unknown people"): SFace's groups mixed no two people up
to 0.65; dlib's mixed Freda and Liz from 0.45."""
LIKE_PHOTO: dict[DescriptorName, float] = {"sface": 0.78, "dlib": 0.8}
"""A face this near an asked person's photo may be them (``GroupingRules.like_photo``): SFace's
is above the 0.72 of Atinkum's nearest far-away face to his photo, with a margin of 0.06; with
dlib an asked person was shown as unknown below 0.75 (the corridor, each walker and each pair
asked for), and 0.8 keeps a margin."""
UNLIKE_FOUND: dict[DescriptorName, float] = {"sface": 0.6, "dlib": 0.55}
"""Footage faces this near a surely found track's may be that person (``GroupingRules.unlike_found``,
also what counts as surely found): SFace's default tolerance; dlib's is looser than its
tolerance, which footage holds at 0.42 against other people's photos (``TOLERANCES``), because
one person's tracks of one clip sit up to 0.50 apart with it: at 0.42 and 0.5 Atinkum, asked
for, was shown as unknown (his pass by the camera, 0.50 from his found track)."""
MIN_FACE_SCORE = 0.8
"""Least detector score of an unknown person's clearest face (YuNet's scale)."""
MAX_TRACKS = 1500
"""Most unknown tracks grouped (the most described first): the clustering's cost grows with
the cube of their number, and tracks beyond these are glimpses in a crowd."""
MAX_EMBEDDINGS = 12
"""Descriptors kept per unknown person for naming them, spread over their time on screen."""


@dataclass(frozen=True)
class Asked:
    """A person asked for, as the guards see them: their photos beside what was found of them."""

    photos: np.ndarray
    """Their reference descriptors, (n, 128)."""
    found: Sequence[Track]
    """The tracks identification gave them in this footage (none when they were not found)."""
    sure: Sequence[Track]
    """Those of ``found`` named within the default tolerance: the only ones that clear a group."""


@dataclass(frozen=True)
class GroupingRules:
    threshold: float
    min_screen_s: float
    max_people: int
    gap_s: float
    doubtful: float
    """Distance of a group's track to a found person's track up to which the group may be them."""
    like_photo: float
    """Distance of any of a group's faces to an asked person's photos up to which it may be them."""
    unlike_found: float
    """Distance beyond which all of a group's faces are from all of a person's surely found faces
    for the footage to say it is not them, whatever its likeness to their photos."""


def unknown_people(
    unknown: Sequence[Track],
    asked: Sequence[Asked],
    descriptor: Descriptor,
    rules: GroupingRules,
) -> list[UnknownPerson]:
    """The unknown people among ``unknown`` tracks, longest on screen first, bounded by ``rules``.

    Args:
        unknown: the tracks identification left unknown, in the order they were built.
        asked: each person asked for, with their found tracks: a group that may be one is left out.
        descriptor: reads the descriptors' distances.
        rules: the distances, the least screen time, the most people, the gap merged.
    """
    if rules.max_people == 0:
        return []
    groups = group_tracks(_candidates(unknown), descriptor, rules.threshold)
    strangers = [g for g in groups if not any(_may_be(g, person, descriptor, rules) for person in asked)]
    owned = [(g, _own_faces(g, descriptor, rules.threshold)) for g in strangers]
    built = [
        _person(g, own, rules.gap_s, descriptor) for g, own in owned if _clearest(own).face.score >= MIN_FACE_SCORE
    ]
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


def _may_be(group: list[Track], person: Asked, descriptor: Descriptor, rules: GroupingRules) -> bool:
    """Whether the group may be ``person`` (the module's docstring says why each guard)."""
    group = _apart_from(group, person.sure)
    if not group:
        return False
    if person.found and float(descriptor.distances(_means(group), _means(person.found)).min()) <= rules.doubtful:
        return True
    faces = np.concatenate([t.descriptors() for t in group])
    if float(descriptor.distances(faces, person.photos).min()) > rules.like_photo:
        return False
    if not person.sure:
        return True
    sure_faces = np.concatenate([t.descriptors() for t in person.sure])
    return float(descriptor.distances(faces, sure_faces).min()) <= rules.unlike_found


def _apart_from(group: list[Track], tracks: Sequence[Track]) -> list[Track]:
    """The group's tracks that share no frame with any of ``tracks``."""
    frames: set[int] = set().union(*(t.indices() for t in tracks))
    return [t for t in group if t.indices().isdisjoint(frames)]


def _own_faces(tracks: Sequence[Track], descriptor: Descriptor, threshold: float) -> list[Sighting]:
    """The group's described faces within ``threshold`` of its mean descriptor (all described
    faces when none is): the faces that are the group, which its crop and kept descriptors come from.

    A track's undescribed faces were linked by position, and on the street tracks jumped 240-830 px
    between samples onto another walker; one took a described face 800 px away, 0.70 from its
    group's mean where the group's own sat 0.34-0.37. Shown, the largest such face was another
    walker's crop (one shown as a second unknown person too); named, it would enrol someone else.
    """
    described = [s for t in tracks for s in t.described()]
    faces = np.concatenate([t.descriptors() for t in tracks])
    near = descriptor.distances(faces, faces.mean(axis=0, keepdims=True))[:, 0] <= threshold
    return [s for s, own in zip(described, near, strict=True) if own] or described


def _person(tracks: list[Track], own: list[Sighting], gap_s: float, descriptor: Descriptor) -> UnknownPerson:
    """One unknown person from their tracks and ``own`` faces: appearances with gaps up to
    ``gap_s`` merged, each pictured by its clearest own face."""
    spans: list[list[Track]] = []
    for track in sorted(tracks, key=lambda t: (t.start, t.end)):
        if spans and track.start - max(t.end for t in spans[-1]) <= gap_s:
            spans[-1].append(track)
        else:
            spans.append([track])
    appearances = [
        UnknownAppearance(
            start=span[0].start, end=max(t.end for t in span), keyframe=_keyframe(_clearest(_within(span, own)))
        )
        for span in spans
    ]
    return UnknownPerson(
        id="",
        label="",
        first_seen_s=appearances[0].start,
        last_seen_s=max(a.end for a in appearances),
        total_s=round(sum(a.end - a.start for a in appearances), 3),
        appearances=appearances,
        keyframe=_keyframe(_clearest(own)),
        tracks=len(tracks),
        embeddings=_embeddings(own, descriptor),
    )


def _within(span: Sequence[Track], own: list[Sighting]) -> list[Sighting]:
    """The ``own`` faces of the span's tracks (its described faces when it has none)."""
    mine = {id(s) for s in own}
    described = [s for t in span for s in t.described()]
    return [s for s in described if id(s) in mine] or described


def _clearest(faces: Sequence[Sighting]) -> Sighting:
    """The largest of ``faces`` the detector is sure of (else the surest), the earliest of equals."""
    sure = [s for s in faces if s.face.score >= MIN_FACE_SCORE]
    if not sure:
        return max(faces, key=lambda s: (s.face.score, -s.time))
    return max(sure, key=lambda s: (_area(s), -s.time))


def _area(sighting: Sighting) -> int:
    left, top, right, bottom = sighting.face.box
    return (right - left) * (bottom - top)


def _keyframe(sighting: Sighting) -> Keyframe:
    return Keyframe(time=sighting.time, box=sighting.face.box)


def _embeddings(own: Sequence[Sighting], descriptor: Descriptor) -> FaceEmbeddings:
    """Up to ``MAX_EMBEDDINGS`` of the person's own descriptors, evenly spread over time."""
    described = sorted(own, key=lambda s: (s.time, s.face.box))
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
