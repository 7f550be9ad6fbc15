"""Scored pairs of look-alike photos, stored in the library and kept up to date.

Every photo whose vector changed since the last update (the catalog's sequence numbers, meta
'dup_seq') asks the search index for its nearest neighbours; each neighbour close enough in
cosine gets the spatial check (spatial.py) and the pair is stored with its score when it
reaches the lowest level. After indexing 1,000 new photos only their neighbourhoods are looked
at. Pairs are stored once (a < b); a pair whose photo left the index is simply not used (its
photo may come back), and a photo that gets a new vector loses its old pairs first.

The score: the mean of the two photos' cosine (stored raw vectors, not the library-whitened
ones, whose scale differs between libraries) and their spatial agreement. Both parts are the
same in every library, so a level means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..library.libraries import Library
from ..vision.glance import correlation
from ..vision.regions import FULL_BYTES, unpack
from .spatial import agreement, coverage

# Calibrated once on benchmarks/duplicates.py (real photos, edited copies, traps); see README
LEVELS = {"identical": 0.97, "copies": 0.58, "similar": 0.50}
FLOOR = min(LEVELS.values())
CANDIDATE_COSINE = 0.45  # below this no edited copy of the benchmark ever scored; not worth a check
NEIGHBOURS = 12
GLANCE_MATCH = 0.96  # calibrated with the levels: above every unrelated pair and crop trap seen

RegionSource = Callable[[list[int]], dict[int, bytes]]


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    score: float
    cosine: float


def score_pairs(cos: np.ndarray, blobs_a: Sequence[bytes | None], blobs_b: Sequence[bytes | None],
                floor: float | None = None) -> np.ndarray:
    """The duplicates score of pairs; a pair without regions on both sides gets no spatial
    credit (it can still be `similar` by cosine, never a copy by a guess). Agreement is 1 when
    the glances match (the whole photo, turned, shrunk or framed), else the regions' alignment.
    With `floor`, scores below it are only known to be below it (the alignment is skipped where
    it cannot matter)."""
    cos = np.asarray(cos, np.float32)
    agree = np.zeros(len(cos), np.float32)
    have = [i for i, (x, y) in enumerate(zip(blobs_a, blobs_b)) if x is not None and y is not None]
    for start in range(0, len(have), 512):
        part = np.array(have[start:start + 512])
        ra, wa, ga = unpack([blobs_a[i] for i in part])
        rb, wb, gb = unpack([blobs_b[i] for i in part])
        seen = correlation(ga, gb) >= GLANCE_MATCH
        agree[part[seen]] = 1.0
        rest = ~seen
        if rest.any():
            need = None if floor is None else 2 * floor - cos[part[rest]]
            agree[part[rest]] = agreement(*coverage(ra[rest], wa[rest], rb[rest], wb[rest], need))
    return (cos + agree) / 2


def regions(library: Library, ids: Sequence[int]) -> dict[int, bytes]:
    rows = library.catalog.select_in("SELECT photo_id, data FROM regions WHERE photo_id IN", sorted(set(ids)))
    return {int(i): bytes(d) for i, d in rows}


def store_regions(library: Library, found: dict[int, bytes]) -> None:
    with library.catalog.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO regions VALUES(?, ?)", list(found.items()))


def _changed(library: Library, since: int) -> list[int]:
    sql = "SELECT v.photo_id FROM vectors v CROSS JOIN photos p ON p.id = v.photo_id WHERE p.status = 1"
    if since < 0:
        return [r[0] for r in library.catalog.conn.execute(sql + " ORDER BY v.photo_id")]
    return [r[0] for r in library.catalog.conn.execute(sql + " AND v.seq > ? ORDER BY v.photo_id", (since,))]


def update_pairs(library: Library, fill_regions: RegionSource | None = None,
                 report: Callable[[int, int], None] | None = None, chunk: int = 2048) -> int:
    """Score the neighbourhoods of photos changed since the last update; returns their number.

    `fill_regions` computes regions for photos indexed before photosearch stored them (by
    decoding them: once, then stored); without it such pairs get no spatial credit."""
    catalog = library.catalog
    seq_now = catalog.seq
    since = int(catalog.meta("dup_seq") or -1)
    changed = _changed(library, since)
    index = library.index
    if changed and since >= 0:
        with catalog.transaction() as c:
            c.executemany("DELETE FROM dup_pairs WHERE a=? OR b=?", [(i, i) for i in changed])
    for start in range(0, len(changed), chunk):
        if index is None:  # no vectors, no neighbours
            break
        ids, vecs = catalog.vectors(changed[start:start + chunk])
        _score_neighbourhoods(library, ids, vecs, index.neighbours(vecs, NEIGHBOURS + 1), fill_regions)
        if report is not None:
            report(min(start + chunk, len(changed)), len(changed))
    with catalog.transaction() as c:
        c.execute("INSERT OR REPLACE INTO meta VALUES('dup_seq', ?)", (str(seq_now),))
    return len(changed)


def _score_neighbourhoods(library: Library, ids: np.ndarray, vecs: np.ndarray, near: np.ndarray,
                          fill_regions: RegionSource | None) -> None:
    catalog = library.catalog
    others = sorted({int(j) for j in near.ravel() if j >= 0} - set(ids.tolist()))
    got, their = catalog.vectors(others)
    pos = {int(i): k for k, i in enumerate(ids.tolist())}
    pos_other = {int(i): k for k, i in enumerate(got.tolist())}

    def vector(i: int) -> np.ndarray | None:
        if i in pos:
            return vecs[pos[i]]
        k = pos_other.get(i)
        return their[k] if k is not None else None

    cand: dict[tuple[int, int], float] = {}
    for row, pid in enumerate(ids.tolist()):
        for j in near[row].tolist():
            other = vector(j) if j >= 0 and j != pid else None
            if other is None:
                continue
            key = (min(pid, j), max(pid, j))
            if key not in cand:
                cos = float(np.dot(vecs[row], other))
                if cos >= CANDIDATE_COSINE:
                    cand[key] = cos
    if not cand:
        return
    keys = list(cand)
    have = regions(library, [i for k in keys for i in k])
    lacking = sorted({i for k in keys for i in k} - {i for i, b in have.items() if len(b) == FULL_BYTES})
    if lacking and fill_regions is not None:
        found = fill_regions(lacking)
        if found:
            store_regions(library, found)
            have.update(found)
    scores = score_pairs(np.array([cand[k] for k in keys]), [have.get(a) for a, _ in keys],
                         [have.get(b) for _, b in keys], floor=FLOOR)
    rows = [(a, b, float(s), cand[(a, b)]) for (a, b), s in zip(keys, scores.tolist()) if s >= FLOOR]
    with catalog.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO dup_pairs VALUES(?, ?, ?, ?)", rows)


def stored_pairs(library: Library, threshold: float) -> list[Pair]:
    """The stored pairs at or above `threshold` whose photos are both searchable now."""
    sql = ("SELECT d.a, d.b, d.score, d.cosine FROM dup_pairs d JOIN photos pa ON pa.id = d.a "
           "JOIN photos pb ON pb.id = d.b WHERE d.score >= ? AND pa.status = 1 AND pb.status = 1")
    return [Pair(a, b, s, c) for a, b, s, c in library.catalog.conn.execute(sql, (threshold,))]
