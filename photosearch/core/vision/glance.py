"""Glances: a photo seen from across the room, for the duplicates' second check.

The model's features change when a photo is turned by 90 degrees or shrunk to a thumbnail, so
regions (regions.py) cannot confirm those copies; at 32 x 32 grey pixels such a copy is still the
same picture, in one of the 8 rotations and mirrors. Two glances per photo: the whole photo, and
its content box (flat borders stripped: a frame, letterbox bars, a plain screenshot's chrome), so
that a framed or screenshotted copy meets its original. Whole photo to 32 x 32 ignoring its
aspect: a square glance turned by 90 degrees is the glance of the turned photo.

Measured on the calibration set of benchmarks/duplicates.py: copies (rotated, shrunk to 15 %,
recompressed, recoloured, framed, screenshotted) correlate >= 0.96 in 94 % of pairs; unrelated
neighbours and two different crops of one photo at most 0.937.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .imageio import Need

SIDE = 32
GLANCE_BYTES = 2 * SIDE * SIDE + 4  # two glances, then the content box (left, top, right, bottom / 255)
_FLAT = 8.0  # a row or column whose colour varies less than this (std, 0-255) is a border
_MIN_KEEP = 0.3  # a "content box" smaller than this share of a side is a plain photo, not a border
NEED = Need(short=SIDE)  # what a glance is made from (the content box is found at any size)


def content_box(img: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the photo inside flat borders; the whole image if none."""
    small = img.convert("RGB")
    small.thumbnail((256, 256), Image.Resampling.BOX)
    a = np.asarray(small, np.float32)
    h, w = a.shape[:2]
    t, b, left, r = 0, h, 0, w

    def flat(px: np.ndarray) -> bool:
        return bool(px.std(axis=0).max() <= _FLAT)

    for _ in range(2):  # rows, then columns within the rows left, then once more
        while b - t > 2 and flat(a[t, left:r]):
            t += 1
        while b - t > 2 and flat(a[b - 1, left:r]):
            b -= 1
        while r - left > 2 and flat(a[t:b, left]):
            left += 1
        while r - left > 2 and flat(a[t:b, r - 1]):
            r -= 1
    if b - t < _MIN_KEEP * h or r - left < _MIN_KEEP * w:
        return 0, 0, img.width, img.height
    sx, sy = img.width / w, img.height / h
    return round(left * sx), round(t * sy), round(r * sx), round(b * sy)


def _grey(img: Image.Image) -> bytes:
    return img.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX).tobytes()


def glance_of(img: Image.Image, box: tuple[int, int, int, int] | None = None) -> bytes:
    """GLANCE_BYTES: the whole photo's glance, its content box's (`box`, found when None), and
    where that box is."""
    box = box or content_box(img)
    inner = img if box == (0, 0, img.width, img.height) else img.crop(box)
    w, h = max(img.width, 1), max(img.height, 1)
    where = bytes(min(255, round(v * 255)) for v in (box[0] / w, box[1] / h, box[2] / w, box[3] / h))
    return _grey(img) + _grey(inner) + where


def content_share(glance: bytes) -> float:
    """The share of a photo's pixels inside its content box (1.0 when unknown): a framed copy
    has more pixels than its original, not more picture."""
    if len(glance) != GLANCE_BYTES:
        return 1.0
    left, top, right, bottom = glance[-4:]
    return max(0.0, (right - left) / 255) * max(0.0, (bottom - top) / 255) or 1.0


def content_shares(boxes: np.ndarray) -> np.ndarray:
    """content_share of many photos at once, from their content boxes' bytes [M, 4]."""
    left, top, right, bottom = np.asarray(boxes, np.uint8).reshape(-1, 4).T.astype(np.float64)
    share = np.maximum(0.0, (right - left) / 255) * np.maximum(0.0, (bottom - top) / 255)
    return np.where(share > 0, share, 1.0)


FLAT_GLANCE = 3.0  # grey levels of spread (std) under which a glance is flat: no credit


def flat(raw: np.ndarray) -> np.ndarray:
    """[...] per glance of stored glances [..., SIDE, SIDE] (uint8): nearly flat (a blank page, a
    black frame)? In exact integers, so that the coarse and the full glance agree on it."""
    x = raw.reshape(-1, SIDE * SIDE)
    total = x.sum(axis=1, dtype=np.int64)
    squares = x.astype(np.uint16)
    squares *= squares  # 255 * 255 still fits
    spread = SIDE * SIDE * squares.sum(axis=1, dtype=np.int64) - total * total  # n^2 x variance
    return np.asarray(spread < round(FLAT_GLANCE ** 2) * (SIDE * SIDE) ** 2).reshape(raw.shape[:-2])


def normalised(raw: np.ndarray) -> np.ndarray:
    """[M, 2, SIDE, SIDE] uint8 -> zero-mean unit-norm float32; a nearly flat glance becomes
    zeros: it would correlate with noise, so it gets no credit."""
    x = raw.reshape(-1, SIDE * SIDE).astype(np.float32)
    x -= (x @ np.full(SIDE * SIDE, 1 / (SIDE * SIDE), np.float32))[:, None]
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    x *= np.where(flat(raw).ravel(), 0.0, 1 / np.maximum(norm, 1e-6)).astype(np.float32)[:, None]
    return x.reshape(raw.shape)


def dihedral(x: np.ndarray) -> np.ndarray:
    """[M, S, S] -> [M, 8, S, S]: the 4 rotations of x and of its mirror."""
    out: list[np.ndarray] = []
    for m in (x, x[:, :, ::-1]):
        out.extend(np.rot90(m, r, axes=(1, 2)) for r in range(4))
    return np.stack(out, 1)


def coarse_of(raw: np.ndarray) -> np.ndarray:
    """Stored glances [M, C, SIDE, SIDE] (uint8) pooled to 8 x 8, zero-mean and unit-norm: a
    cheap first look (measured: every pair correlating >= 0.96 at 32 x 32 did >= 0.95 at 8 x 8).
    From integer sums of the raw pixels, so that no glance is normalised in full for it (most
    pairs are told apart by these alone; normalising every glance of every neighbour, and
    pooling by a product, was a third of scoring the neighbourhoods). A flat glance is zeros,
    as its full glance is."""
    n = SIDE // 8
    # cells summed by adding strided views (numpy's sum over two strided axes of bytes was 4x slower)
    cols = raw.reshape(-1, SIDE, 8, n)
    rows = cols[..., 0].astype(np.int32)
    for k in range(1, n):
        rows += cols[..., k]
    cells = rows.reshape(-1, 8, n, 8)
    pooled = cells[:, :, 0].copy()
    for k in range(1, n):
        pooled += cells[:, :, k]
    pooled = pooled.reshape(*raw.shape[:-2], 8, 8)
    x = (pooled * 64 - pooled.sum(axis=(-2, -1), keepdims=True)).astype(np.float32)  # 64 x (cell - mean)
    norm = np.sqrt((x * x).sum(axis=(-2, -1), keepdims=True))
    keep = (norm > 0) & ~flat(raw)[..., None, None]
    return np.where(keep, x / np.maximum(norm, 1e-12), 0.0).astype(np.float32)


def matches(raw: np.ndarray, g_coarse: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """For pairs (a[i], b[i]) of rows of stored glances `raw` (uint8; `g_coarse`: their
    coarse_of): do their glances correlate >= threshold? Only where the coarse ones come close
    (most neighbours are unrelated) are the full glances normalised and compared."""
    out = np.zeros(len(a), bool)
    # a coarse glance of zeros that is not flat says nothing: every cell alike (a fine regular
    # pattern, whose full glance may well match); the few such are compared in full
    zero = ~np.any(g_coarse.reshape(*g_coarse.shape[:2], -1), axis=2)  # [M, C]
    blind = np.zeros(len(g_coarse), bool)
    rows = np.flatnonzero(zero.any(axis=1))
    if len(rows):
        blind[rows] = (zero[rows] & ~flat(raw[rows])).any(axis=1)
    close = np.flatnonzero((correlation(g_coarse[a], g_coarse[b]) >= threshold - 0.1) | blind[a] | blind[b])
    if len(close):
        rows, at = np.unique(np.concatenate([a[close], b[close]]), return_inverse=True)
        g = normalised(raw[rows])
        out[close] = correlation(g[at[:len(close)]], g[at[len(close):]]) >= threshold
    return out


def correlation(ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """For M pairs of normalised glances: the best correlation, whole with whole or content
    with content, over the 8 orientations of B."""
    best = np.full(len(ga), -1.0, np.float32)
    for c in range(2):
        ncc = np.einsum("mij,mkij->mk", ga[:, c], dihedral(gb[:, c])).max(axis=1)
        best = np.maximum(best, ncc)
    return best


def glance_match(a: bytes, b: bytes) -> float:
    """How well two photos' glances (glance_of) correlate, in the best of the 8 orientations."""
    raw = np.frombuffer(a[:2 * SIDE * SIDE] + b[:2 * SIDE * SIDE], np.uint8).reshape(2, 2, SIDE, SIDE)
    g = normalised(raw)
    return float(correlation(g[:1], g[1:])[0])
