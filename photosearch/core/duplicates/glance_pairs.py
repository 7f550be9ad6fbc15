"""Pairs the model cannot see: a thumbnail or a screenshot of a photo, found by its glance.

The model looks at 224 pixels. A copy shrunk below that is a blur to it, and a screenshot is
mostly window chrome: the benchmark's missed thumbnails and screenshots met their originals at
cosine 0.0-0.6, hundreds of places down the neighbour list, while their glances (vision/glance.py:
the content box at 32 x 32, in 8 orientations) still correlated 0.94-1.0. So such photos (the
"small or framed") are also compared by glance with every photo, and a pair whose glances
correlate >= GLANCE_CANDIDATE becomes a candidate like any other: verify.py decides what it is.

Only the small or framed are searched (a few per cent of a library, none in a camera's): each
meets the changed photos, and a changed one meets every photo, by one product of 64-number
coarse glances, then the full glances where the coarse ones come close.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..library.libraries import Library
from ..vision.glance import SIDE, coarse_of, content_shares, dihedral, matches
from ..vision.regions import BLOB_BYTES, FULL_BYTES
from .pairs import FLOOR, INSERT_PAIR, changed_since, regions, score_pairs

MODEL_SIDE = 224  # a photo whose shorter side is below what the model looks at is a blur to it
FRAMED = 0.8  # ... or whose picture fills less than this share of it (a screenshot, a frame)
# the glances' correlation that makes a candidate (the benchmark's missed thumbnails and
# screenshots: 0.94-1.0; unrelated photos: <= 0.93, seen among 4,080)
GLANCE_CANDIDATE = 0.93
_COARSE_NEAR = GLANCE_CANDIDATE - 0.1  # coarse glances of pairs at the line (measured: >= 0.9)
_CHUNK = 4096
_QUERIES, _TARGETS = 128, 8192  # a product of 32 MB


def _glances(library: Library) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every searchable photo with a glance: ids, coarse content glances [M, 8, 8] and whether
    the photo is small or framed. Read whenever photos changed, so kept lean (1,000,000 photos:
    32 s, mostly per-row Python and the unused whole glance, before it was): only the content
    glance and its box are read, and the rest is worked out a batch at a time."""
    content = BLOB_BYTES + SIDE * SIDE + 1  # the glances follow the regions: whole, content, box
    sql = ("SELECT r.photo_id, substr(r.data, ?, ?), substr(r.data, ?, 4), p.width, p.height FROM regions r "
           "CROSS JOIN photos p ON p.id = r.photo_id WHERE p.status = 1 AND length(r.data) = ?")
    ids: list[np.ndarray] = []
    parts: list[np.ndarray] = []
    special: list[np.ndarray] = []
    rows = library.catalog.conn.execute(sql, (content, SIDE * SIDE, FULL_BYTES - 3, FULL_BYTES))
    while batch := rows.fetchmany(_CHUNK):
        pid, glance, box, width, height = zip(*batch)
        raw = np.frombuffer(b"".join(glance), np.uint8).reshape(len(batch), 1, SIDE, SIDE)
        parts.append(coarse_of(raw)[:, 0].astype(np.float16))
        ids.append(np.array(pid, np.int64))
        w, h = (np.array([v or 0 for v in side], np.int64) for side in (width, height))
        small = (w > 0) & (h > 0) & (np.minimum(w, h) < MODEL_SIDE)  # a size not known is not taken for small
        special.append(small | (content_shares(np.frombuffer(b"".join(box), np.uint8)) < FRAMED))
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 8, 8), np.float16), np.zeros(0, bool)
    return np.concatenate(ids), np.concatenate(parts), np.concatenate(special)


def _near(queries: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query row, target row) of the pairs whose coarse glances come close in some orientation,
    in blocks of queries and targets (a few tens of MB at a time, whatever the library's size).

    The first grouping meets every small or framed photo with every photo (at 1,000,000 photos
    with 2 % of them framed, 2e10 pairs in 8 orientations): each block of targets is made float32
    once, and a block of queries meets it in all 8 orientations in one product (measured: 13-20 %
    faster than a product per orientation and a conversion per query block)."""
    qa, tb = [], []
    for ts in range(0, len(targets), _TARGETS):
        t = np.ascontiguousarray(targets[ts:ts + _TARGETS].reshape(-1, 64).astype(np.float32).T)
        for qs in range(0, len(queries), _QUERIES):
            # turned here, block by block: a library of screenshots has as many queries as photos
            turned = dihedral(queries[qs:qs + _QUERIES]).reshape(-1, 64).astype(np.float32)
            product = turned @ t  # [queries * 8, targets]
            i, j = np.nonzero(product.reshape(-1, 8, t.shape[1]).max(axis=1) >= _COARSE_NEAR)
            del product  # one product alive at a time
            qa.append(i + qs)
            tb.append(j + ts)
    return (np.concatenate(qa), np.concatenate(tb)) if qa else (np.zeros(0, np.int64), np.zeros(0, np.int64))


def update_glance_pairs(library: Library, also: Sequence[int] = ()) -> int:
    """Bring the glance pairs up to date with the photos indexed since the last time (every photo,
    the first time: a library whose pairs were found before this is completed on the way), and
    with `also` (photos whose glances were only now stored); returns how many new pairs were
    stored. A photo without glances yet is met when they are stored (`also`)."""
    catalog = library.catalog
    seq_now = catalog.seq
    last = catalog.meta("dup_glance_seq")
    changed = sorted(set(changed_since(library, int(last or -1))) | set(also))
    found = glance_pairs(library, changed) if changed else 0
    if last != str(seq_now):
        with catalog.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES('dup_glance_seq', ?)", (str(seq_now),))
    return found


def glance_pairs(library: Library, changed: Sequence[int]) -> int:
    """Store, as candidates, the pairs of a small or framed photo and another photo whose glances
    match, where either photo changed; returns how many were new."""
    ids, glances, special = _glances(library)
    if not special.any():
        return 0
    is_changed = np.isin(ids, np.asarray(changed, np.int64))
    found: set[tuple[int, int]] = set()
    for queries, targets in ((special & is_changed, np.ones(len(ids), bool)), (special & ~is_changed, is_changed)):
        q_rows, t_rows = np.flatnonzero(queries), np.flatnonzero(targets)
        if len(q_rows) == 0 or len(t_rows) == 0:
            continue
        i, j = _near(glances[q_rows], glances[t_rows])
        a, b = ids[q_rows[i]], ids[t_rows[j]]
        found.update((int(min(x, y)), int(max(x, y))) for x, y in zip(a, b) if x != y)
    if not found:
        return 0
    catalog = library.catalog
    have = {(int(a), int(b)) for a, b in catalog.select_in(
        "SELECT a, b FROM dup_pairs WHERE a IN", sorted({a for a, _ in found}))}
    todo = sorted(found - have)
    # a few thousand pairs at a time: their photos' records are read for them alone
    return sum(_store(library, todo[s:s + 4096]) for s in range(0, len(todo), 4096))


def _store(library: Library, todo: list[tuple[int, int]]) -> int:
    """The pairs whose full glances match, scored as any pair is (at least at the floor: the
    model's cosine is what fails them) and stored without a verdict."""
    blobs = regions(library, sorted({i for k in todo for i in k}))
    got, vecs = library.catalog.vectors(sorted(blobs))
    row = {int(i): n for n, i in enumerate(got.tolist())}
    todo = [k for k in todo if k[0] in row and k[1] in row]
    if not todo:
        return 0
    order = sorted(blobs)
    slot = {i: n for n, i in enumerate(order)}
    raw = np.frombuffer(b"".join(blobs[i][BLOB_BYTES:BLOB_BYTES + 2 * SIDE * SIDE] for i in order), np.uint8)
    g = raw.reshape(len(order), 2, SIDE, SIDE)
    a = np.array([slot[x] for x, _ in todo])
    b = np.array([slot[y] for _, y in todo])
    keep = matches(g, coarse_of(g), a, b, GLANCE_CANDIDATE)
    todo = [k for k, ok in zip(todo, keep.tolist()) if ok]
    if not todo:
        return 0
    cos = np.array([float(np.dot(vecs[row[x]], vecs[row[y]])) for x, y in todo], np.float32)
    scores = np.maximum(score_pairs(cos, [blobs[x] for x, _ in todo], [blobs[y] for _, y in todo]), FLOOR)
    with library.catalog.transaction() as c:
        c.executemany(INSERT_PAIR, [(x, y, float(s), float(cs)) for (x, y), s, cs in zip(todo, scores, cos)])
    return len(todo)
