"""Duplicate groups from scored pairs (pairs.py): star groups that cannot chain, and the copies
of one photo. Nothing is decoded: scores come from stored vectors and regions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..library.libraries import Library
from .pairs import LEVELS, Pair, regions, score_pairs

__all__ = ["LEVELS", "Group", "Pair", "copies_of", "group"]


@dataclass
class Group:
    centre: int
    members: list[int] = field(default_factory=list)  # the centre first
    scores: dict[int, float] = field(default_factory=dict)  # member -> score to the centre


def copies_of(library: Library, photo_id: int, threshold: float, neighbours: int = 50) -> list[tuple[int, float]]:
    """The photos that score at least `threshold` with this one (its copies, at a level), best first."""
    index = library.index
    found, vecs = library.catalog.vectors([photo_id])
    if index is None or len(found) == 0:
        return []
    near, _ = index.query(vecs[0], neighbours, exclude=frozenset((photo_id,)))
    got, their = library.catalog.vectors(int(i) for i in near.tolist())
    if len(got) == 0:
        return []
    have = regions(library, [photo_id, *got.tolist()])
    ids = got.tolist()
    scores = score_pairs(their @ vecs[0], [have.get(photo_id)] * len(ids), [have.get(i) for i in ids])
    return sorted(((int(i), float(s)) for i, s in zip(ids, scores.tolist()) if s >= threshold), key=lambda x: -x[1])


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
