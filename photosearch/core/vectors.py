"""The HNSW index over the stored vectors.

The catalog holds the truth (every vector, stamped with a sequence number); the
index file is a cache of it, saved atomically at checkpoints together with the
sequence number it reflects. Opening loads the last saved index and replays what
changed since, so a crash between checkpoints costs nothing but a short replay,
and an index file that is missing, truncated or disagrees with the catalog is
rebuilt from the stored vectors.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import hnswlib
import numpy as np

from .catalog import Catalog
from .fsutil import read_json, save_atomic, write_json_atomic


# Above this many photos the index holds PCA-reduced vectors (exact scores come from
# the stored full vectors): memory and speed stay flat as a library grows to millions.
AUTO_REDUCE_AT = 100_000
REDUCED_DIM = 256


@dataclass(frozen=True)
class IndexParams:
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 96
    index_dim: int = 0  # 0: automatic (full dimension below AUTO_REDUCE_AT photos)
    rerank: int = 100  # candidates re-scored with full vectors when the index is reduced

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "IndexParams":
        d = d or {}
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


FULL_CRC_LIMIT = 256 * 2**20
_SAMPLES, _SAMPLE = 512, 1 << 16


def _crc32(path: Path) -> int:
    """Checksum of the index file: all of it when small; for big files (a million photos:
    over a gigabyte, read again by hnswlib right after) 512 spread samples of 64 KiB
    plus the size, which catches truncation and torn writes without doubling the I/O."""
    crc = 0
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= FULL_CRC_LIMIT:
            while block := f.read(1 << 22):
                crc = zlib.crc32(block, crc)
            return crc
        for i in range(_SAMPLES):
            f.seek(max(0, size - _SAMPLE) * i // (_SAMPLES - 1))
            crc = zlib.crc32(f.read(_SAMPLE), crc)
    return crc


class Projection:
    """PCA to fewer dimensions, fitted on the library's own vectors."""

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        self.mean = mean.astype(np.float32)
        self.components = components.astype(np.float32)  # [D, d]

    @property
    def dim(self) -> int:
        return self.components.shape[1]

    @classmethod
    def fit(cls, sample: np.ndarray, dim: int) -> "Projection":
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
    def load(cls, path: Path) -> "Projection":
        with np.load(path) as z:
            return cls(z["mean"], z["components"])


class VectorIndex:
    """An hnswlib index over photo ids, kept in step with a Catalog."""

    def __init__(self, folder: Path, dim: int, params: IndexParams):
        self.file = Path(folder) / "index.hnsw"
        self.state_file = Path(folder) / "index.json"
        self.projection_file = Path(folder) / "projection.npz"
        self.projection: Projection | None = None
        self._catalog: Catalog | None = None
        self.dim = dim
        self.params = params
        self.seq = 0  # catalog sequence number reflected by the index
        self.deleted = 0
        self._index: hnswlib.Index | None = None
        self._lock = threading.RLock()  # hnswlib resize/save must not race queries

    # -- lifecycle ---------------------------------------------------------
    @property
    def index_dim(self) -> int:
        return self.projection.dim if self.projection is not None else self.dim

    def _project(self, vecs: np.ndarray) -> np.ndarray:
        return self.projection(vecs) if self.projection is not None else np.asarray(vecs, np.float32)

    def _new(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="ip", dim=self.index_dim)
        index.init_index(max_elements=max(1024, capacity), ef_construction=self.params.ef_construction,
                         M=self.params.M, random_seed=100)
        index.set_ef(self.params.ef_search)
        return index

    def open(self, catalog: Catalog, on_notice: Callable[[str], None] | None = None) -> bool:
        """Load the saved index and catch up with the catalog; rebuild if needed.

        Returns whether the index now differs from the saved file.
        """
        self._catalog = catalog
        problem = self._load()
        changed = False
        if problem is None:
            changed = self.catch_up(catalog)
            live = self.live_count
            stored = catalog.vector_count()
            if live != stored:
                problem = f"the index holds {live} photos but the catalog {stored}"
            elif self.projection is None and self._wanted_dim(stored) < self.dim:
                problem = "the library has grown: switching to a compact index"
        if problem is not None:
            if on_notice and (self.file.exists() or self.state_file.exists()):
                on_notice(f"Rebuilding the search index ({problem})")
            self.rebuild(catalog)
            changed = True
        return changed

    def _load(self) -> str | None:
        try:
            state = read_json(self.state_file, default={})
        except ValueError:
            return "the index state file is damaged"
        if not state or not self.file.exists():
            return "no saved index"
        if state.get("dim") != self.dim:
            return "the index has another dimension"
        projection = None
        if state.get("index_dim", self.dim) != self.dim:
            try:
                projection = Projection.load(self.projection_file)
            except (OSError, ValueError, KeyError) as exc:
                return f"the index projection cannot be read: {exc}"
            if projection.components.shape != (self.dim, state["index_dim"]):
                return "the index projection does not fit the index"
        try:
            size = self.file.stat().st_size
            if size != state.get("size") or _crc32(self.file) != state.get("crc32"):
                return "the index file is damaged"
            index = hnswlib.Index(space="ip", dim=state.get("index_dim", self.dim))
            index.load_index(str(self.file), max_elements=state.get("capacity", 0))
        except (OSError, RuntimeError, ValueError) as exc:
            return f"the index file cannot be read: {exc}"
        index.set_ef(self.params.ef_search)
        with self._lock:
            self._index = index
            self.projection = projection
            self.seq = int(state.get("seq", 0))
            self.deleted = int(state.get("deleted", 0))
        return None

    def _wanted_dim(self, count: int) -> int:
        if self.params.index_dim:
            return min(self.params.index_dim, self.dim)
        return REDUCED_DIM if count >= AUTO_REDUCE_AT and self.dim > REDUCED_DIM else self.dim

    def rebuild(self, catalog: Catalog) -> None:
        count = catalog.vector_count()
        wanted = self._wanted_dim(count)
        with self._lock:
            self.projection = None
            if wanted < self.dim and count > wanted:
                self.projection = Projection.fit(self._sample(catalog, 20_000), wanted)
                self.projection.save(self.projection_file)
            self._index = self._new(int(count * 1.25) + 1024)
            self.deleted = 0
            self.seq = catalog.seq
            for ids, vecs in catalog.vectors_since(-1):
                self._add(ids, vecs)

    @staticmethod
    def _sample(catalog: Catalog, n: int) -> np.ndarray:
        parts, have = [], 0
        for _, vecs in catalog.vectors_since(-1):
            parts.append(vecs)
            have += len(vecs)
            if have >= n:
                break
        return np.concatenate(parts)[:n]

    def catch_up(self, catalog: Catalog) -> bool:
        """Apply what the catalog changed since the index's sequence number."""
        seq = catalog.seq
        changed = seq != self.seq
        for ids, vecs in catalog.vectors_since(self.seq):
            self.add(ids, vecs)
        self.remove(catalog.tombstones_since(self.seq))
        self.seq = seq
        return changed

    def save(self, catalog: Catalog) -> None:
        """Write the index atomically, then record what it reflects."""
        with self._lock:
            if self._index is None:
                return
            seq = self.seq
            save_atomic(self.file, self._index.save_index)
            state = {
                "seq": seq,
                "dim": self.dim,
                "size": self.file.stat().st_size,
                "crc32": _crc32(self.file),
                "capacity": self._index.get_max_elements(),
                "index_dim": self.index_dim,
                "elements": self._index.element_count,
                "deleted": self.deleted,
                "params": self.params.to_dict(),
            }
        write_json_atomic(self.state_file, state)
        # tombstones the saved index already reflects are no longer needed
        catalog.prune_tombstones(seq)

    # -- changes -----------------------------------------------------------
    @property
    def live_count(self) -> int:
        with self._lock:
            return 0 if self._index is None else self._index.element_count - self.deleted

    def _add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        index = self._index
        need = index.element_count + len(ids)
        if need > index.get_max_elements():
            index.resize_index(max(need, int(index.get_max_elements() * 1.5)))
        index.add_items(self._project(vecs), np.asarray(ids, dtype=np.int64))

    def add(self, ids, vecs, seq: int | None = None) -> None:
        """Add or replace vectors (a replaced photo keeps its id)."""
        if len(ids) == 0:
            return
        with self._lock:
            if self._index is None:
                self._index = self._new(len(ids) * 2)
            self._add(ids, vecs)
            if seq is not None:
                self.seq = max(self.seq, seq)

    def remove(self, ids, seq: int | None = None) -> None:
        with self._lock:
            if self._index is not None:
                for i in ids:
                    try:
                        self._index.mark_deleted(int(i))
                        self.deleted += 1
                    except RuntimeError:
                        pass  # not in the index, or already deleted: replay is idempotent
            if seq is not None:
                self.seq = max(self.seq, seq)

    def note_seq(self, seq: int) -> None:
        with self._lock:
            self.seq = max(self.seq, seq)

    # -- queries -----------------------------------------------------------
    def query(self, vector: np.ndarray, k: int, exclude: set[int] | frozenset = frozenset()):
        """Ids and cosine similarities of the k nearest photos, best first."""
        if self.projection is None:
            return self._knn(np.asarray(vector, np.float32), k, exclude)
        # compact index: find candidates, then score them exactly with the stored vectors
        ids, _ = self._knn(self.projection(np.asarray(vector, np.float32).reshape(1, -1))[0],
                           max(k * 2, self.params.rerank), exclude)
        found, full = self._catalog.vectors(ids)
        scores = full @ np.asarray(vector, np.float32).reshape(-1)
        order = np.argsort(-scores)[:k]
        return found[order], scores[order].astype(np.float32)

    def _knn(self, vector: np.ndarray, k: int, exclude):
        with self._lock:
            index = self._index
            live = self.live_count
            if index is None or live == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            k = min(k, live)
            flt = (lambda label: label not in exclude) if exclude else None
            if flt is not None:
                k = min(k, max(0, live - len(exclude)))
                if k == 0:
                    return np.zeros(0, np.int64), np.zeros(0, np.float32)
            index.set_ef(max(self.params.ef_search, k + 16))
            try:
                labels, dists = index.knn_query(np.asarray(vector, np.float32).reshape(1, -1), k=k, filter=flt)
            except RuntimeError:
                # a sparse graph can come up short of k; ask again with a wider search
                index.set_ef(max(4 * k, 512))
                labels, dists = index.knn_query(np.asarray(vector, np.float32).reshape(1, -1), k=k, filter=flt)
        return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)
