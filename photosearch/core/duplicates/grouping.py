"""Duplicate groups: stars around the photo to keep, every member proven against it.

The stored pairs (pairs.py) say which photos look alike; they are only candidates. A group is a
star: a centre (the photo the keep rules prefer, among those not yet grouped) and the candidates
whose verdict against the centre (verdicts.py: pixels, and capture times for similar shots)
reaches the level. A chain of similar shots (each like the next, the first unlike the last)
cannot merge into one group, and nothing joins a group on the strength of a look-alike score.

Verdicts are asked for in waves of a few dozen pairs, so that every core verifies at once; a
wave may verify a pair that an earlier centre of the same wave makes moot (it is stored all the
same, and the next grouping finds it done).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..library.libraries import Library
from .pairs import FLOOR, Pair, regions, score_pairs

__all__ = ["Group", "Pair", "copies_of", "star_groups"]

WAVE = 48  # pairs verified together

# (pairs) -> for each, does it reach the level
Accepts = Callable[[list[tuple[int, int]]], list[bool]]


@dataclass
class Group:
    centre: int
    members: list[int] = field(default_factory=list)  # the centre first
    scores: dict[int, float] = field(default_factory=dict)  # member -> look-alike score to the centre, where stored


def star_groups(pairs: Sequence[Pair], order: Sequence[int], accepts: Accepts,
                report: Callable[[int, int], None] | None = None) -> list[Group]:
    """Stars from candidate pairs; `order`: the photos, best to keep first (a photo not in it
    comes after those that are). `report(done, total)`: after each wave, how many of the photos
    with candidates have been met (as a centre or a member), for progress: proving pairs in
    pixels is most of a first grouping."""
    adjacent: dict[int, dict[int, float]] = {}
    for p in pairs:
        adjacent.setdefault(p.a, {})[p.b] = p.score
        adjacent.setdefault(p.b, {})[p.a] = p.score
    rank = {pid: n for n, pid in enumerate(order)}
    # not yet tried as a centre, best to keep first
    pending = collections.deque(sorted(adjacent, key=lambda i: (rank.get(i, len(rank)), i)))
    taken: set[int] = set()
    left = set(adjacent)  # neither tried as a centre nor grouped yet (for `report`)
    groups: list[Group] = []
    while pending:
        # a wave: the next centres, each with candidates no earlier centre of the wave asks for;
        # a centre that would ask for one waits for the next wave (put back in its place)
        wave: list[tuple[int, list[int]]] = []
        waiting: list[int] = []
        claimed: set[int] = set()
        size = 0
        while pending and size < WAVE:
            c = pending.popleft()
            cands = [m for m in adjacent[c] if m not in taken]
            if c in taken or not cands:
                left.discard(c)
                continue  # grouped already, or nothing left to group with
            if c in claimed or claimed.intersection(cands):
                waiting.append(c)
                continue
            cands.sort(key=lambda m: (-adjacent[c][m], m))
            wave.append((c, cands))
            claimed.add(c)
            claimed.update(cands)
            size += len(cands)
        pending.extendleft(reversed(waiting))
        asked = [(c, m) for c, cands in wave for m in cands]
        ok = dict(zip(asked, accepts(asked))) if asked else {}
        formed = []
        for c, cands in wave:
            members = [m for m in cands if ok[(c, m)]]
            if members:
                taken.add(c)
                taken.update(members)
                formed.append(Group(c, [c, *members], {m: adjacent[c][m] for m in members}))
        # the second hop: what a centre's members look like was not always among the centre's own
        # neighbours (an edit met from another edit's side); each is proven against the centre
        hop = [(g.centre, x) for g in formed
               for x in sorted({x for m in g.members[1:] for x in adjacent[m]} - taken - set(adjacent[g.centre]))]
        ok = dict(zip(hop, accepts(hop))) if hop else {}
        for g in formed:
            for x in (x for c, x in hop if c == g.centre and ok[(c, x)] and x not in taken):
                taken.add(x)
                g.members.append(x)
        groups.extend(formed)
        for c, _ in wave:
            left.discard(c)
        for g in formed:
            left.difference_update(g.members)
        if report is not None:
            report(len(adjacent) - len(left), len(adjacent))
    return groups


def copies_of(library: Library, photo_id: int, accepts: Accepts, neighbours: int = 50,
              floor: float = FLOOR) -> list[tuple[int, float]]:
    """The photos proven to be at a level with this one (its copies), best score first."""
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
    cands = [(int(i), float(s)) for i, s in zip(ids, scores.tolist()) if s >= floor]
    ok = accepts([(photo_id, i) for i, _ in cands]) if cands else []
    return sorted((c for c, good in zip(cands, ok) if good), key=lambda x: -x[1])
