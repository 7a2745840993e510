"""One person's tracks of one shot, split while they were hidden, joined for the decision.

A walker at the back of a line is hidden behind the one in front for a second or two and
comes back as a new track, often near the camera and clear where before they were small and
blurred. Judged alone, the far track sits as far from the person's photo as strangers do
(0.6-0.9 in the corridor, ``bench/footage_truth.py``), yet the same footage's near track is far
nearer to it than any photo is: Prince's far and near faces were 0.41 apart, and every other
track of that shot at least 0.70 from either. So tracks of one shot are chained,
earlier to later, nearest pair first, when:

- the later one starts after the earlier ends, at most ``REJOIN_S`` later (they never share a
  frame, and a cut always separates);
- their nearest faces are within the descriptor's ``Scale.rejoin``;
- that likeness singles them out: each is nearer to the other than to any other candidate by
  the descriptor's margin, a candidate already chained to the other counting as none. In the
  street crowd one track's faces sat 0.40 and 0.42 from two earlier tracks of two different
  people seen together: likeness alone does not tell;
- the later one starts within ``REJOIN_MOVE`` face sizes of where the earlier one ended: a
  person reappears where they were hidden.

A chain is decided as one track (``match.identify``), so the faces that can carry a decision
carry it for the whole chain; each track keeps its own times, and the hidden gap between them
is never claimed.
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Sequence

from tools.reid.engine.embed import Descriptor
from tools.reid.engine.geometry import area, centre_x, centre_y
from tools.reid.engine.track import Track

REJOIN_S = 3.0
"""Longest a person is hidden between two tracks that are chained."""
REJOIN_MOVE = 2.0
"""Farthest (in face sizes, the mean of both boxes') a person reappears from where they were
last seen: hidden behind a passer-by, they walk on slowly across the picture."""


def chains(tracks: Sequence[Track], descriptor: Descriptor) -> list[list[Track]]:
    """``tracks`` (in the order they were built) as chains, each in time order, the chains in
    the order of their first track; a track with no descriptor is a chain of its own.

    Pairs are weighed nearest first, so that a rival already chained to the candidate is no
    rival: in the corridor, Atinkum's far track sat 0.55 from his near track and 0.59 from the
    moment he passed the camera, which were already one chain (0.50 apart)."""
    likeness = sorted(candidates(tracks, descriptor))
    later_of: dict[int, list[tuple[float, int]]] = collections.defaultdict(list)
    earlier_of: dict[int, list[tuple[float, int]]] = collections.defaultdict(list)
    for distance, a, b in likeness:
        later_of[a].append((distance, b))
        earlier_of[b].append((distance, a))
    chain_of = list(range(len(tracks)))
    members = {i: [i] for i in range(len(tracks))}
    after: dict[int, int] = {}
    followers: set[int] = set()
    for distance, a, b in likeness:
        if distance > descriptor.scale.rejoin:
            break
        if a in after or b in followers or _moved(tracks[a], tracks[b]) > REJOIN_MOVE:
            continue
        ours = {chain_of[a], chain_of[b]}
        rivals = [d for d, other in later_of[a] if other != b and chain_of[other] not in ours]
        rivals += [d for d, other in earlier_of[b] if other != a and chain_of[other] not in ours]
        if all(d - distance >= descriptor.scale.margin for d in rivals):
            after[a] = b
            followers.add(b)
            for i in members.pop(chain_of[b]):
                chain_of[i] = chain_of[a]
                members[chain_of[a]].append(i)
    joined: list[list[Track]] = []
    for first in range(len(tracks)):
        if first in followers:
            continue
        chain, at = [tracks[first]], first
        while at in after:
            at = after[at]
            chain.append(tracks[at])
        joined.append(chain)
    return joined


def candidates(tracks: Sequence[Track], descriptor: Descriptor) -> list[tuple[float, int, int]]:
    """(nearest faces' distance, earlier, later) for every pair of described tracks of one shot
    where the later starts after the earlier ends, within ``REJOIN_S``."""
    order = sorted((t.start, i) for i, t in enumerate(tracks) if t.described())
    starts = [start for start, _ in order]
    pairs: list[tuple[float, int, int]] = []
    for _, a in order:
        earlier = tracks[a]
        lo = bisect.bisect_right(starts, earlier.end)
        hi = bisect.bisect_right(starts, earlier.end + REJOIN_S)
        for _, b in order[lo:hi]:
            if tracks[b].shot == earlier.shot:
                distance = float(descriptor.distances(earlier.descriptors(), tracks[b].descriptors()).min())
                pairs.append((distance, a, b))
    return pairs


def _moved(earlier: Track, later: Track) -> float:
    """How far the later track's first face is from the earlier one's last, in face sizes."""
    last, first = earlier.last.face.box, later.sightings[0].face.box
    size = (max(area(last), 1) ** 0.5 + max(area(first), 1) ** 0.5) / 2
    return float(((centre_x(first) - centre_x(last)) ** 2 + (centre_y(first) - centre_y(last)) ** 2) ** 0.5 / size)
