"""The spatial check: do two photos' regions agree on one alignment?

A copy of a photo (resized, cropped a little, framed, mirrored, watermarked, recoloured) keeps
its regions where one geometric alignment puts them; a second photo of the same scene, or a
different crop of one photo, matches here and there but not under a single alignment that
covers most of either photo. One global cosine cannot tell these apart (see issue 12); this can.

Regions: vision/regions.py (a grid of the model's last feature map, stored per photo).

The check: every region of A votes, through its best match in B, for an alignment (B as it is
or mirrored, a scale, a shift); the winner's inliers, weighted, are A's coverage, and B's
regions checked against the same alignment give B's. Batched over many pairs in numpy: about
0.12 ms a pair. A copy turned by 90 or 180 degrees is not looked for here: the model's features
change under rotation, so its regions rarely match anyway (measured: all 8 rotations and mirrors
cost 3.5 times as much for 0.4 % more copies); glances (vision/glance.py) find those copies.
"""

from __future__ import annotations

import numpy as np

from ..vision.regions import GRID

MATCH_MIN = 0.5  # a region whose best match is weaker than this does not vote
SCALES = (0.5, 0.6, 0.7, 0.85, 1.0, 1.18, 1.4, 1.7, 2.0)
_BINS = 24  # shift bins per axis, 1/GRID wide, covering [-2, 1.4)
_OFFSET = 2.0


def _points() -> np.ndarray:
    g = (np.arange(GRID) + 0.5) / GRID
    yy, xx = np.meshgrid(g, g, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


_P = _points()
_X, _Y = _P[:, 0], _P[:, 1]
# B's grid as it is and mirrored, as coordinates of B's cells
_DIHEDRAL = np.stack([np.stack(c, 1) for c in [(_X, _Y), (1 - _X, _Y)]]).astype(np.float32)


def coverage(ra: np.ndarray, wa: np.ndarray, rb: np.ndarray, wb: np.ndarray,
             need: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For M pairs: the weighted share of A's and of B's regions that one alignment explains.

    With `need` (per pair, the agreement that would matter), a pair whose regions cannot reach
    it even if every match agreed is not aligned: its upper bounds are returned instead (below
    `need`, so the caller's decision is the same). Most neighbours of a photo end there."""
    m = len(ra)
    if m == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    sim = np.matmul(ra, rb.transpose(0, 2, 1))  # [M, R, R]
    sa, sb = sim.max(2), sim.max(1)  # where the best matches are is asked only if they could matter
    vote_a = wa * (sa >= MATCH_MIN)
    vote_b = wb * (sb >= MATCH_MIN)
    total_a = np.maximum(wa.sum(1), 1e-6)
    total_b = np.maximum(wb.sum(1), 1e-6)
    if need is not None:
        bound_a, bound_b = vote_a.sum(1) / total_a, vote_b.sum(1) / total_b
        hopeless = agreement(bound_a, bound_b) < need
        if hopeless.any():
            out_a, out_b = bound_a.astype(np.float32), bound_b.astype(np.float32)
            keep = ~hopeless
            if keep.any():
                out_a[keep], out_b[keep] = coverage(ra[keep], wa[keep], rb[keep], wb[keep])
            return out_a, out_b
    ja, ib = sim.argmax(2), sim.argmax(1)
    rows = np.arange(m)[:, None]
    best_a = np.full(m, -1.0, np.float32)
    best_b = np.zeros(m, np.float32)
    for dih in _DIHEDRAL:
        qa = dih[ja]  # [M, R, 2]: where A's regions' matches sit in B
        for s in SCALES:
            shift = qa - s * _P[None]
            cell = np.clip(np.floor((shift + _OFFSET) * GRID).astype(np.int64), 0, _BINS - 1)
            flat = rows * _BINS * _BINS + cell[..., 1] * _BINS + cell[..., 0]
            votes = np.bincount(flat.ravel(), vote_a.ravel(), minlength=m * _BINS * _BINS).reshape(m, -1)
            win = votes.argmax(1)
            t = (np.stack([win % _BINS, win // _BINS], 1) + 0.5) / GRID - _OFFSET  # [M, 2]
            tol = max(1.0, s) / GRID
            hit_a = np.linalg.norm(s * _P[None] + t[:, None] - qa, axis=2) < tol
            cov_a = (hit_a * vote_a).sum(1) / total_a
            # B's regions: their best match in A, mapped by the same alignment, must land on them
            hit_b = np.linalg.norm(s * _P[ib] + t[:, None] - dih[None], axis=2) < tol
            cov_b = (hit_b * vote_b).sum(1) / total_b
            better = cov_a + cov_b > best_a + best_b
            best_a = np.where(better, cov_a, best_a)
            best_b = np.where(better, cov_b, best_b)
    return np.maximum(best_a, 0.0), best_b


def agreement(cov_a: np.ndarray, cov_b: np.ndarray) -> np.ndarray:
    """One number in [0, 1]: mostly the less-covered photo (a different crop covers little of
    either), partly the better-covered one (a framed copy covers all of the original)."""
    hi, lo = np.maximum(cov_a, cov_b), np.minimum(cov_a, cov_b)
    return (0.35 * hi + 0.65 * lo).astype(np.float32)
