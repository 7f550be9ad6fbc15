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

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..library.libraries import Library
from ..vision.glance import coarse_of, matches
from ..vision.regions import FULL_BYTES, unpack
from .spatial import agreement, coverage

# The look-alike score only chooses which pairs to verify (verify.py decides, from pixels): the
# lowest score at which edited copies of the benchmark were still met (benchmarks/duplicates.py)
FLOOR = 0.50
CANDIDATE_COSINE = 0.45  # below this no edited copy of the benchmark ever scored; not worth a check
NEIGHBOURS = 12
NEIGHBOUR_EF = 32  # the 12 nearest of a copy are very near: a narrow search finds them (benchmarked)
GLANCE_MATCH = 0.96  # calibrated with the levels: above every unrelated pair and crop trap seen

RegionSource = Callable[[list[int]], dict[int, bytes]]
# a pair scored anew has no verdict yet (verdicts.py verifies it when grouping needs it)
INSERT_PAIR = "INSERT OR REPLACE INTO dup_pairs(a, b, score, cosine, verdict, evidence) VALUES(?, ?, ?, ?, NULL, NULL)"


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
    have = np.array([i for i, (x, y) in enumerate(zip(blobs_a, blobs_b)) if x is not None and y is not None], np.int64)
    if len(have) == 0:
        return (cos + agree) / 2
    # a photo meets a dozen neighbours: unpack each record once (the callers pass the same bytes
    # object for the same photo), then gather per pair
    slots: dict[int, int] = {}
    blobs: list[bytes] = []

    def slot(b: bytes) -> int:
        k = slots.setdefault(id(b), len(blobs))
        if k == len(blobs):
            blobs.append(b)
        return k

    ia = np.array([slot(blobs_a[i]) for i in have])
    ib = np.array([slot(blobs_b[i]) for i in have])
    r, w, g = unpack(blobs)
    g_coarse = coarse_of(g)

    def batch(start: int) -> None:
        part, a, b = have[start:start + 512], ia[start:start + 512], ib[start:start + 512]
        seen = matches(g, g_coarse, a, b, GLANCE_MATCH)
        agree[part[seen]] = 1.0
        rest = ~seen
        if rest.any():
            a, b = a[rest], b[rest]
            need = None if floor is None else 2 * floor - cos[part[rest]]
            agree[part[rest]] = agreement(*coverage(r[a], w[a], r[b], w[b], need))

    starts = range(0, len(have), 512)
    if len(starts) == 1:
        batch(0)
    else:  # numpy lets go of the GIL in the heavy parts: every core aligns
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(batch, starts))
    return (cos + agree) / 2


def regions(library: Library, ids: Sequence[int]) -> dict[int, bytes]:
    rows = library.catalog.select_in("SELECT photo_id, data FROM regions WHERE photo_id IN", sorted(set(ids)))
    return {int(i): bytes(d) for i, d in rows}


def store_regions(library: Library, found: dict[int, bytes]) -> None:
    with library.catalog.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO regions VALUES(?, ?)", list(found.items()))


def changed_since(library: Library, since: int) -> list[int]:
    sql = "SELECT v.photo_id FROM vectors v CROSS JOIN photos p ON p.id = v.photo_id WHERE p.status = 1"
    if since < 0:
        return [r[0] for r in library.catalog.conn.execute(sql + " ORDER BY v.photo_id")]
    # sorted here, not by SQLite: an ORDER BY photo_id makes it walk every vector row (5 GB at 1M)
    # instead of the few past `since` in the seq index
    return sorted(r[0] for r in library.catalog.conn.execute(sql + " AND v.seq > ?", (since,)))


def update_pairs(library: Library, fill_regions: RegionSource | None = None,
                 report: Callable[[int, int], None] | None = None, chunk: int = 512) -> int:
    """Score the neighbourhoods of photos changed since the last update; returns their number.

    `fill_regions` computes regions for photos indexed before photosearch stored them (by
    decoding them: once, then stored); without it such pairs get no spatial credit."""
    catalog = library.catalog
    seq_now = catalog.seq
    since = int(catalog.meta("dup_seq") or -1)
    changed = changed_since(library, since)
    if not changed:  # the stored pairs are up to date: no need to load the search index at all
        return 0
    index = library.index
    lost: list[tuple[int, int]] = []
    if changed and since >= 0:
        # a photo with a new vector loses its pairs (their scores and verdicts are stale); those
        # found from its partner's side only are scored again below, or they would be lost
        # until the partner changes too
        lost = [(int(a), int(b)) for a, b in catalog.select_in(
            "SELECT a, b FROM dup_pairs WHERE a IN", changed) + catalog.select_in(
            "SELECT a, b FROM dup_pairs WHERE b IN", changed)]
        with catalog.transaction() as c:
            c.executemany("DELETE FROM dup_pairs WHERE a=? OR b=?", [(i, i) for i in changed])
    # the neighbour lists already scored: a pair met again from its other side is skipped
    done_row = np.full(max(changed, default=0) + 1, -1, np.int64)
    done_near = np.full((len(changed), NEIGHBOURS + 1), -1, np.int64)

    def prepare(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        assert index is not None
        ids, vecs = catalog.vectors(changed[start:start + chunk])
        near = index.neighbours(vecs, NEIGHBOURS + 1, NEIGHBOUR_EF)
        a, b = _candidates(ids, near, (done_row, done_near))
        rows = np.arange(start, start + len(ids))
        done_row[ids] = rows
        done_near[rows, :near.shape[1]] = near
        return ids, vecs, a, b

    # the next chunk's neighbours' vectors and regions are read (SQLite lets go of the GIL)
    # while this chunk is scored
    with ThreadPoolExecutor(1) as reader:
        queued: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Future[_Fetched]]] = []
        scored = 0

        def score_next() -> None:
            nonlocal scored
            ids, vecs, a, b, fetched = queued.pop(0)
            _score_neighbourhoods(library, ids, vecs, a, b, fetched.result(), fill_regions)
            scored += len(ids)
            if report is not None:
                report(scored, len(changed))

        for start in range(0, len(changed) if index is not None else 0, chunk):
            ids, vecs, a, b = prepare(start)
            queued.append((ids, vecs, a, b, reader.submit(_fetch, library, ids, a, b)))
            if len(queued) > 1:
                score_next()
        while queued:
            score_next()
    if lost:
        _score_again(library, lost)
    with catalog.transaction() as c:
        c.execute("INSERT OR REPLACE INTO meta VALUES('dup_seq', ?)", (str(seq_now),))
    return len(changed)


def _score_again(library: Library, lost: list[tuple[int, int]]) -> None:
    """Pairs a changed photo had that its own neighbourhood did not find again."""
    rows = library.catalog.select_in("SELECT a, b FROM dup_pairs WHERE a IN", sorted({a for a, _ in lost}))
    found = {(int(a), int(b)) for a, b in rows}
    todo = sorted(set(lost) - found)
    scored = score_of(library, todo)
    with library.catalog.transaction() as c:
        c.executemany(INSERT_PAIR, [(a, b, s, cos) for (a, b), (s, cos) in scored.items() if s >= FLOOR])


def _candidates(ids: np.ndarray, near: np.ndarray,
                done: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with a < b: each photo with each of its neighbours, once, unless that pair was
    already scored from the other photo's neighbourhood."""
    a = np.repeat(ids, near.shape[1])
    b = near.ravel().astype(np.int64)
    ok = (b >= 0) & (b != a)
    a, b = a[ok], b[ok]
    done_row, done_near = done
    row = np.where(b < len(done_row), done_row[np.minimum(b, len(done_row) - 1)], -1)
    met = row >= 0
    seen = np.zeros(len(a), bool)
    seen[met] = (done_near[row[met]] == a[met, None]).any(axis=1)
    a, b = a[~seen], b[~seen]
    key = np.unique(np.minimum(a, b) << 32 | np.maximum(a, b))
    return key >> 32, key & 0xFFFFFFFF


_Fetched = tuple[np.ndarray, np.ndarray, dict[int, bytes]]


def _fetch(library: Library, ids: np.ndarray, a: np.ndarray, b: np.ndarray) -> _Fetched:
    """The neighbours' vectors and every photo's regions (a reader thread's own connection)."""
    got, their = library.catalog.vectors(np.setdiff1d(np.concatenate([a, b]), ids).tolist())
    return got, their, regions(library, np.union1d(a, b).tolist())


def _score_neighbourhoods(library: Library, ids: np.ndarray, vecs: np.ndarray, a: np.ndarray, b: np.ndarray,
                          fetched: _Fetched, fill_regions: RegionSource | None) -> None:
    catalog = library.catalog
    got, their, have = fetched
    all_ids = np.concatenate([ids, got])
    all_vecs = np.concatenate([np.asarray(vecs, np.float32), np.asarray(their, np.float32).reshape(-1, vecs.shape[1])])
    order = np.argsort(all_ids)
    sorted_ids = all_ids[order]

    def row_of(x: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(sorted_ids, x), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == x, order[at], -1)

    ra, rb = row_of(a), row_of(b)
    known = (ra >= 0) & (rb >= 0)  # a neighbour whose vector is gone has nothing to compare
    a, b, ra, rb = a[known], b[known], ra[known], rb[known]
    cos = np.concatenate([np.einsum("ij,ij->i", all_vecs[ra[s:s + 4096]], all_vecs[rb[s:s + 4096]])
                          for s in range(0, len(a), 4096)] or [np.zeros(0, np.float32)])
    close = cos >= CANDIDATE_COSINE
    if not close.any():
        return
    a, b, cos = a[close].tolist(), b[close].tolist(), cos[close]
    lacking = sorted(set(a + b) - {i for i, blob in have.items() if len(blob) == FULL_BYTES})
    if lacking and fill_regions is not None:
        found = fill_regions(lacking)
        if found:
            store_regions(library, found)
            have.update(found)
    scores = score_pairs(cos, [have.get(x) for x in a], [have.get(y) for y in b], floor=FLOOR)
    keep = np.flatnonzero(scores >= FLOOR).tolist()
    with catalog.transaction() as c:
        c.executemany(INSERT_PAIR, [(a[k], b[k], float(scores[k]), float(cos[k])) for k in keep])


def stored_pairs(library: Library, threshold: float) -> list[Pair]:
    """The stored pairs at or above `threshold` whose photos are both searchable now."""
    # CROSS JOIN: the pairs drive, or SQLite walks every searchable photo (seconds at 1M)
    sql = ("SELECT d.a, d.b, d.score, d.cosine FROM dup_pairs d CROSS JOIN photos pa ON pa.id = d.a "
           "CROSS JOIN photos pb ON pb.id = d.b WHERE d.score >= ? AND pa.status = 1 AND pb.status = 1")
    return [Pair(a, b, s, c) for a, b, s, c in library.catalog.conn.execute(sql, (threshold,))]


def score_of(library: Library, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], tuple[float, float]]:
    """The look-alike score and cosine of any pairs of photos that have vectors."""
    ids = sorted({i for k in pairs for i in k})
    got, vecs = library.catalog.vectors(ids)
    row = {int(i): n for n, i in enumerate(got.tolist())}
    usable = [k for k in pairs if k[0] in row and k[1] in row]
    if not usable:
        return {}
    va = np.stack([vecs[row[a]] for a, _ in usable]).astype(np.float32)
    vb = np.stack([vecs[row[b]] for _, b in usable]).astype(np.float32)
    cos = np.einsum("ij,ij->i", va, vb)
    have = regions(library, ids)
    scores = score_pairs(cos, [have.get(a) for a, _ in usable], [have.get(b) for _, b in usable])
    return {k: (float(s), float(c)) for k, s, c in zip(usable, scores.tolist(), cos.tolist())}
