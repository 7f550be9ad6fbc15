"""Binary codes against HNSW neighbour lists, as the first pass of grouping (issue 12).

Codes: the signs of each photo's vector in the search index's own space (whitened, PCA to 256
dims: the signs of the whitened projection), 256 bits. A first pass must find, for every photo,
the photos that could be its copies without comparing all N x N pairs; for codes that is
multi-index hashing: cut the code into 16 bands of 16 bits, photos sharing a band's value are
candidates, and candidates within a Hamming radius are kept. By pigeonhole this finds every pair
within 15 bits; wider radii need narrower bands, whose buckets grow as N / 2^bits (quadratic).

Printed by the callers in duplicates.py: on real photos, the share of each edit's (original,
copy) pairs each first pass hands to the spatial check; on synthetic libraries of N photos, the
time and the candidates of each first pass, and the planted copies they find.
"""

from __future__ import annotations

import time

import numpy as np

BANDS = 16
BAND_BITS = 16
RADIUS = BANDS - 1  # what 16 bands of 16 bits guarantee to find


def codes(index, vectors: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """[N, 4] uint64: 256 bits, the signs of the vectors' first 256 dimensions in the index's
    space (the PCA projection when the library has one; else the whitened vector, whose
    dimensions come in order of variance)."""
    out = []
    for s in range(0, len(vectors), 20_000):
        q = index._whiten(vectors[s:s + 20_000])
        q = index.projection(q) if index.projection is not None else q
        out.append(np.packbits(q[:, :256] > 0, axis=1))
    return np.ascontiguousarray(np.concatenate(out)).view(np.uint64)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1)


def _keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unique(np.minimum(a, b) << 32 | np.maximum(a, b))


def mih_pairs(ids: np.ndarray, code: np.ndarray, radius: int = RADIUS,
              cap: int = 5_000) -> tuple[np.ndarray, int]:
    """(pair keys within `radius`, candidate pairs looked at). A bucket bigger than `cap` (a
    value most photos share) is skipped, as any real implementation must."""
    bands = code.view(np.uint16)[:, :BANDS]
    found: list[np.ndarray] = []
    looked = 0
    for b in range(BANDS):
        order = np.argsort(bands[:, b], kind="stable")
        cuts = np.flatnonzero(np.diff(bands[order, b])) + 1
        for grp in np.split(order, cuts):
            m = len(grp)
            if m < 2 or m > cap:
                continue
            i, j = np.triu_indices(m, 1)
            looked += len(i)
            keep = hamming(code[grp[i]], code[grp[j]]) <= radius
            found.append(_keys(ids[grp[i][keep]], ids[grp[j][keep]]))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64), looked


def hnsw_pairs(index, vectors: np.ndarray, k: int = 13) -> np.ndarray:  # type: ignore[no-untyped-def]
    """[N, k] neighbour labels straight from the HNSW index, searched as grouping searches."""
    from photosearch.core.duplicates.pairs import NEIGHBOUR_EF

    return np.concatenate([index.neighbours(vectors[s:s + 4096], k, NEIGHBOUR_EF)
                           for s in range(0, len(vectors), 4096)])


def compare_first_passes(lib, truth: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Both first passes over a whole library, its vectors streamed from the catalog; `truth`:
    [P, 2] photo ids of planted copies."""
    from photosearch.core.duplicates.pairs import NEIGHBOUR_EF, NEIGHBOURS

    index = lib.index
    t_hnsw = t_codes = 0.0
    near_keys: list[np.ndarray] = []
    all_ids, all_codes = [], []
    for ids, vecs in lib.catalog.vectors_since(-1, chunk=8192):
        t = time.perf_counter()
        near = index.neighbours(vecs, NEIGHBOURS + 1, NEIGHBOUR_EF)
        a, b = np.repeat(ids, near.shape[1]), near.ravel()
        ok = (b >= 0) & (b != a)
        near_keys.append(_keys(a[ok], b[ok]))
        t_hnsw += time.perf_counter() - t
        t = time.perf_counter()
        all_ids.append(ids)
        all_codes.append(codes(index, vecs))
        t_codes += time.perf_counter() - t
    t = time.perf_counter()
    hn = np.unique(np.concatenate(near_keys))
    t_hnsw += time.perf_counter() - t
    t = time.perf_counter()
    cd, looked = mih_pairs(np.concatenate(all_ids), np.concatenate(all_codes))
    t_codes += time.perf_counter() - t
    want = _keys(truth[:, 0], truth[:, 1])
    n = sum(len(x) for x in all_ids)
    for name, took, got, extra in (("HNSW, 12 neighbours", t_hnsw, hn, ""),
                                   (f"codes, 256 bits, radius {RADIUS}", t_codes, cd,
                                    f"; {looked:,} bucket pairs looked at")):
        print(f"  {name:28s} {took:7.1f} s  {len(got) / n:6.2f} candidate pairs a photo  planted copies "
              f"reached {np.isin(want, got).mean():.3f}{extra}", flush=True)


def real_first_pass(lib, names: dict[int, str], kinds: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """On the quality benchmark's library: per edit, the share of (original, copy) pairs each
    first pass reaches, and the copies' Hamming distances."""
    ids = np.array(sorted(names), np.int64)
    got, vecs = lib.catalog.vectors(ids)
    index = lib.index
    code = codes(index, vecs)
    near = hnsw_pairs(index, vecs)
    row = {int(p): i for i, p in enumerate(got.tolist())}
    orig = {names[int(p)].split("-")[0]: int(p) for p in got if kinds.get(names[int(p)]) == "orig"}
    print("\nfirst pass on real photos: share of (original, copy) pairs handed to the spatial check")
    print("| edit | HNSW 12 neighbours (cos >= 0.45) | codes within 15 bits | copies' Hamming distance p50 / p95 |")
    print("|---|---|---|---|")
    by_kind: dict[str, list[tuple[bool, bool, int]]] = {}
    for p in got.tolist():
        name = names[p]
        kind = name.split("-", 1)[1].rsplit(".", 1)[0] if "-" in name else ""
        o = orig.get(name.split("-")[0])
        if o is None or o == p or kind.startswith("trap"):
            continue
        i, j = row[p], row[o]
        cos = float(vecs[i] @ vecs[j])
        in_h = (o in near[i].tolist() or p in near[j].tolist()) and cos >= 0.45
        d = int(hamming(code[i], code[j]))
        by_kind.setdefault(kind, []).append((in_h, d <= RADIUS, d))
    for kind, rows in sorted(by_kind.items()):
        a = np.array(rows)
        print(f"| {kind} | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} | {np.median(a[:, 2]):.0f} / "
              f"{np.percentile(a[:, 2], 95):.0f} |")
