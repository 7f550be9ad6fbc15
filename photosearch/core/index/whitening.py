"""PCA-whitening learned from a library's own vectors.

Plain cosine similarity is dominated by the few directions along which all photos
vary most (sky or not, indoors or not); two copies of one photo and two photos of
one subject look alike there. Whitening scales every principal direction to a
comparable variance, so the rare details that tell one photo from another count
too: copies (cropped, shrunk, recompressed, watermarked) stand out from photos
that are merely alike.

Full whitening also amplifies noise and loses the broad subject similarity, so
the eigenvalues are shrunk towards their mean (`shrink`) and raised to `power`
(0.5: half-way, the square root of full whitening): measured by
benchmarks/quality.py, this keeps same-subject search as good as plain cosine
while copy detection gains most of what full whitening brings.

A descriptor may be made of several equal parts (a photo's full-size and
thumbnail-size descriptors): each part is whitened on its own and the whitened
parts are normalised and concatenated, so the cosine of two results is the
mean of the parts' cosines.

Raw vectors are what the catalog keeps; the whitening is a cache of theirs, fitted
again as the library grows, and never changes a stored vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..fsutil import save_atomic


@dataclass(frozen=True)
class WhiteningSpec:
    parts: int = 1
    shrink: float = 10.0  # eigenvalues + shrink x their mean: larger = milder
    power: float = 0.5  # 1.0 = full whitening, 0 = none
    dim: int = 512  # whitened dimensions kept per part (0: all)
    min_photos: int = 1000  # fewer photos than this tell too little about the library
    sample: int = 20_000  # photos the covariance is estimated from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Whitening:
    """A fitted whitening: per part a mean and a projection."""

    def __init__(self, means: list[np.ndarray], projections: list[np.ndarray], fitted_on: int):
        self.means = [np.asarray(m, np.float32) for m in means]
        self.projections = [np.asarray(p, np.float32) for p in projections]
        self.fitted_on = int(fitted_on)

    @property
    def parts(self) -> int:
        return len(self.means)

    @property
    def in_dim(self) -> int:
        return sum(len(m) for m in self.means)

    @property
    def dim(self) -> int:
        return sum(p.shape[1] for p in self.projections)

    @classmethod
    def fit(cls, sample: np.ndarray, spec: WhiteningSpec, fitted_on: int | None = None) -> Whitening:
        x = np.asarray(sample, np.float64)
        means, projections = [], []
        for block in np.split(x, spec.parts, axis=1):
            mean = block.mean(axis=0)
            vals, vecs = np.linalg.eigh(np.cov((block - mean).T))
            order = np.argsort(vals)[::-1][: spec.dim or len(vals)]
            vals = np.maximum(vals[order], 0.0)
            scale = np.power(vals + spec.shrink * max(vals.mean(), 1e-12), -spec.power / 2)
            means.append(mean)
            projections.append(vecs[:, order] * scale)
        return cls(means, projections, len(x) if fitted_on is None else fitted_on)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """Whitened, unit-length vectors (each part weighted equally)."""
        return self.apply(vectors)[0]

    def apply(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whitened vectors, and each part's length before it was normalised ([n, parts])."""
        x = np.asarray(vectors, np.float32).reshape(-1, self.in_dim)
        out, norms, start = [], [], 0
        for mean, proj in zip(self.means, self.projections):
            y = (x[:, start:start + len(mean)] - mean) @ proj
            n = np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
            out.append(y / n)
            norms.append(n)
            start += len(mean)
        return np.concatenate(out, axis=1) / np.float32(np.sqrt(self.parts)), np.concatenate(norms, axis=1)

    def scores(self, query: np.ndarray, raw: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """Cosines between a whitened query and raw vectors whose part lengths are known.

        Equal to `raw` whitened, dotted with `query`, without whitening `raw`: the
        projection moves to the query side (one matrix-vector product per part), so
        re-scoring candidates costs a dot product each instead of a matrix product."""
        x = np.asarray(raw, np.float32).reshape(-1, self.in_dim)
        total = np.zeros(len(x), np.float32)
        start = qstart = 0
        for p, (mean, proj) in enumerate(zip(self.means, self.projections)):
            u = proj @ query[qstart:qstart + proj.shape[1]]
            total += (x[:, start:start + len(mean)] @ u - mean @ u) / norms[:, p]
            start += len(mean)
            qstart += proj.shape[1]
        return total / np.float32(np.sqrt(self.parts))

    def save(self, path: Path) -> None:
        arrays = {f"mean{i}": m for i, m in enumerate(self.means)}
        arrays.update({f"proj{i}": p for i, p in enumerate(self.projections)})

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, fitted_on=np.int64(self.fitted_on), **arrays)  # type: ignore[arg-type]

        save_atomic(path, write)

    @classmethod
    def load(cls, path: Path) -> Whitening:
        with np.load(path) as z:
            n = sum(1 for k in z.files if k.startswith("mean"))
            return cls([z[f"mean{i}"] for i in range(n)], [z[f"proj{i}"] for i in range(n)], int(z["fitted_on"]))
