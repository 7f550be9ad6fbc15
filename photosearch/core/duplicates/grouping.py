"""Duplicate groups from the stored vectors: neighbour lists from the search index, exact
scores from the stored (raw, unwhitened) vectors, groups that cannot chain.

The score is the cosine of the stored descriptors, not of the library-whitened index: whitening
is learned per library, so its scale differs between libraries, and a level must mean the same
everywhere. Nothing is decoded.

Work in progress (issue 12): the levels below are cosine thresholds only; the spatial check that
separates copies from photos of one scene is still to come.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..library.libraries import Library

# Provisional thresholds on the stored descriptors' cosine (default descriptor, EfficientNet-Lite0):
# 200 ImageNet photos + 20 half-size q70 copies: copies scored 0.85-0.95, unrelated pairs at most
# 0.76. Harder edits (framing, crops) and photos of one scene overlap more: the spatial check
# that issue 12 asks for is what will draw the copies line properly.
LEVELS = {"identical": 0.97, "copies": 0.82, "similar": 0.70}
NEIGHBOURS = 12


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    score: float


@dataclass
class Group:
    centre: int
    members: list[int] = field(default_factory=list)  # the centre first
    scores: dict[int, float] = field(default_factory=dict)  # member -> score to the centre


def candidate_pairs(library: Library, threshold: float, neighbours: int = NEIGHBOURS,
                    chunk: int = 2048) -> list[Pair]:
    """Pairs of searchable photos scoring at least `threshold`, each pair once (a < b)."""
    index = library.index
    if index is None:
        return []
    catalog = library.catalog
    ids = catalog.searchable_ids()
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), chunk):
        part, vecs = catalog.vectors(ids[start:start + chunk])
        for pid, vec in zip(part.tolist(), vecs):
            near, _ = index.query(vec, neighbours + 1, exclude=frozenset((pid,)))
            others = [int(i) for i in near.tolist() if (min(pid, i), max(pid, i)) not in found]
            if not others:
                continue
            got, their = catalog.vectors(others)
            scores = their @ vec
            for other, score in zip(got.tolist(), scores.tolist()):
                if score >= threshold:
                    found[(min(pid, other), max(pid, other))] = float(score)
    return [Pair(a, b, s) for (a, b), s in found.items()]


def copies_of(library: Library, photo_id: int, threshold: float, neighbours: int = 50) -> list[tuple[int, float]]:
    """The photos that score at least `threshold` with this one (its copies, at a level), best first."""
    index = library.index
    found, vecs = library.catalog.vectors([photo_id])
    if index is None or len(found) == 0:
        return []
    near, _ = index.query(vecs[0], neighbours, exclude=frozenset((photo_id,)))
    got, their = library.catalog.vectors(int(i) for i in near.tolist())
    scores = their @ vecs[0]
    ranked = sorted(((int(i), float(s)) for i, s in zip(got.tolist(), scores.tolist()) if s >= threshold),
                    key=lambda x: -x[1])
    return ranked


def group(pairs: Iterable[Pair], threshold: float) -> list[Group]:
    """Star groups: the photo with the most strong neighbours becomes a centre, and only photos
    that score at least `threshold` against the centre join it. A chain of similar shots (each
    like the next, the first unlike the last) cannot merge into one group."""
    adjacent: dict[int, dict[int, float]] = {}
    for p in pairs:
        if p.score >= threshold:
            adjacent.setdefault(p.a, {})[p.b] = p.score
            adjacent.setdefault(p.b, {})[p.a] = p.score
    taken: set[int] = set()
    groups = []
    order = sorted(adjacent, key=lambda i: (-len(adjacent[i]), -sum(adjacent[i].values()), i))
    for centre in order:
        if centre in taken:
            continue
        members = {m: s for m, s in adjacent[centre].items() if m not in taken}
        if not members:
            continue
        taken.add(centre)
        taken.update(members)
        ranked = sorted(members, key=lambda m: (-members[m], m))
        groups.append(Group(centre, [centre, *ranked], members))
    return groups


def score(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(np.asarray(a, np.float32), np.asarray(b, np.float32)))
