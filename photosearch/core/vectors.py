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


@dataclass(frozen=True)
class IndexParams:
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 96

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "IndexParams":
        d = d or {}
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


class VectorIndex:
    """An hnswlib index over photo ids, kept in step with a Catalog."""

    def __init__(self, folder: Path, dim: int, params: IndexParams):
        self.file = Path(folder) / "index.hnsw"
        self.state_file = Path(folder) / "index.json"
        self.dim = dim
        self.params = params
        self.seq = 0  # catalog sequence number reflected by the index
        self.deleted = 0
        self._index: hnswlib.Index | None = None
        self._lock = threading.RLock()  # hnswlib resize/save must not race queries

    # -- lifecycle ---------------------------------------------------------
    def _new(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="ip", dim=self.dim)
        index.init_index(max_elements=max(1024, capacity), ef_construction=self.params.ef_construction,
                         M=self.params.M, random_seed=100)
        index.set_ef(self.params.ef_search)
        return index

    def open(self, catalog: Catalog, on_notice: Callable[[str], None] | None = None) -> bool:
        """Load the saved index and catch up with the catalog; rebuild if needed.

        Returns whether the index now differs from the saved file.
        """
        problem = self._load()
        changed = False
        if problem is None:
            changed = self._replay(catalog)
            live = self.live_count
            stored = catalog.vector_count()
            if live != stored:
                problem = f"the index holds {live} photos but the catalog {stored}"
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
        try:
            size = self.file.stat().st_size
            if size != state.get("size") or _crc32(self.file) != state.get("crc32"):
                return "the index file is damaged"
            index = hnswlib.Index(space="ip", dim=self.dim)
            index.load_index(str(self.file), max_elements=state.get("capacity", 0))
        except (OSError, RuntimeError, ValueError) as exc:
            return f"the index file cannot be read: {exc}"
        index.set_ef(self.params.ef_search)
        with self._lock:
            self._index = index
            self.seq = int(state.get("seq", 0))
            self.deleted = int(state.get("deleted", 0))
        return None

    def rebuild(self, catalog: Catalog) -> None:
        with self._lock:
            self._index = self._new(int(catalog.vector_count() * 1.25) + 1024)
            self.deleted = 0
            self.seq = catalog.seq
            for ids, vecs in catalog.vectors_since(-1):
                self._add(ids, vecs)

    def _replay(self, catalog: Catalog) -> bool:
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
        index.add_items(np.asarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64))

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
