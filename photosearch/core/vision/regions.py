"""Regions: what the duplicates' spatial check (duplicates/spatial.py) compares.

The model's last feature map (the one GeM pooling already computes, so indexing pays nothing
more), pooled to a GRID x GRID grid, square-rooted, projected to DIM dimensions with a fixed
pseudo-random +-1 matrix (the same for every library and every numpy: a score must mean the
same everywhere), stored as int8 directions plus a uint8 weight per region (its activation
energy: flat borders, frames and screenshot chrome weigh little). 3,185 bytes a photo, then
its glances (glance.py, 2,052 bytes: written at indexing, where the decoded photo is at hand).
"""

from __future__ import annotations

import numpy as np

from .glance import GLANCE_BYTES, SIDE

GRID = 7
DIM = 64
REGIONS = GRID * GRID
BLOB_BYTES = REGIONS * DIM + REGIONS
FULL_BYTES = BLOB_BYTES + GLANCE_BYTES  # a record with its glances; BLOB_BYTES: one from before them

_proj_cache: dict[int, np.ndarray] = {}


def projection(channels: int) -> np.ndarray:
    """channels x DIM, entries +-1/sqrt(channels) from an integer hash: fixed forever."""
    p = _proj_cache.get(channels)
    if p is None:
        i = np.arange(channels, dtype=np.uint64)[:, None]
        j = np.arange(DIM, dtype=np.uint64)[None, :]
        h = (i * np.uint64(2654435761) + j * np.uint64(40503) + np.uint64(12345)) % np.uint64(2**32)
        h = (h ^ (h >> np.uint64(13))) * np.uint64(1274126177) % np.uint64(2**32)
        sign = np.where((h >> np.uint64(16)) & np.uint64(1), 1.0, -1.0)
        p = (sign / np.sqrt(channels)).astype(np.float32)
        _proj_cache[channels] = p
    return p


def _grid_pool(fmap: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, GRID*GRID, C], averaging (or repeating) cells to a fixed grid."""
    n, c, h, w = fmap.shape
    if (h, w) == (GRID, GRID):  # the usual case (224 px input): already the grid
        return fmap.reshape(n, c, REGIONS).transpose(0, 2, 1)
    ys = [(int(np.floor(k * h / GRID)), max(int(np.floor(k * h / GRID)) + 1, int(np.ceil((k + 1) * h / GRID))))
          for k in range(GRID)]
    xs = [(int(np.floor(k * w / GRID)), max(int(np.floor(k * w / GRID)) + 1, int(np.ceil((k + 1) * w / GRID))))
          for k in range(GRID)]
    out = np.empty((n, GRID, GRID, c), np.float32)
    for a, (y0, y1) in enumerate(ys):
        for b, (x0, x1) in enumerate(xs):
            out[:, a, b] = fmap[:, :, y0:y1, x0:x1].mean(axis=(2, 3))
    return out.reshape(n, REGIONS, c)


def regions_of(fmap: np.ndarray) -> list[bytes]:
    """One blob per photo from a batch's feature map [N, C, H, W]."""
    x = np.sqrt(np.maximum(_grid_pool(np.asarray(fmap, np.float32)), 0.0))
    energy = np.linalg.norm(x, axis=2)
    y = x @ projection(x.shape[2])
    y /= np.linalg.norm(y, axis=2, keepdims=True) + 1e-6
    q = np.clip(np.round(y * 127), -127, 127).astype(np.int8)
    top = energy.max(axis=1, keepdims=True)
    w = np.round(np.where(top > 0, energy / np.maximum(top, 1e-12), 0.0) * 255).astype(np.uint8)
    return [q[i].tobytes() + w[i].tobytes() for i in range(len(q))]


def unpack(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([M, REGIONS, DIM] unit directions, [M, REGIONS] weights, [M, 2, SIDE, SIDE] glances as
    stored, uint8: zeros for a record from before glances) from blobs (glance.matches compares
    glances, normalising only those it must)."""
    for b in blobs:
        if len(b) < BLOB_BYTES:
            raise ValueError(f"a regions record of {len(b)} bytes, not {FULL_BYTES}")
    # a record without glances (or from a development version of them) is used for its regions
    padded = b"".join(b if len(b) == FULL_BYTES else b[:BLOB_BYTES] + bytes(GLANCE_BYTES) for b in blobs)
    raw = np.frombuffer(padded, np.uint8).reshape(len(blobs), FULL_BYTES)
    r = np.empty((len(blobs), REGIONS, DIM), np.float32)
    np.multiply(raw[:, :REGIONS * DIM].view(np.int8).reshape(len(blobs), REGIONS, DIM), np.float32(1 / 127), out=r)
    w = raw[:, REGIONS * DIM:BLOB_BYTES].astype(np.float32) / 255.0
    return r, w, raw[:, BLOB_BYTES:BLOB_BYTES + 2 * SIDE * SIDE].reshape(len(blobs), 2, SIDE, SIDE)
