"""PCA to fewer dimensions, fitted on a library's own vectors: what keeps the search index of a
million-photo library in memory (the full vectors stay in the catalog for exact re-scoring)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fsutil import save_atomic


class Projection:
    """PCA to fewer dimensions, fitted on the library's own vectors."""

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        self.mean = mean.astype(np.float32)
        self.components = components.astype(np.float32)  # [D, d]

    @property
    def dim(self) -> int:
        return self.components.shape[1]

    @classmethod
    def fit(cls, sample: np.ndarray, dim: int) -> Projection:
        x = np.asarray(sample, np.float32)
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        return cls(mean, vt[:dim].T)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        y = (np.asarray(vectors, np.float32) - self.mean) @ self.components
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)

    def save(self, path: Path) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, mean=self.mean, components=self.components)

        save_atomic(path, write)

    @classmethod
    def load(cls, path: Path) -> Projection:
        with np.load(path) as z:
            return cls(z["mean"], z["components"])
