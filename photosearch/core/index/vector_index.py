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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from ..fsutil import read_json, save_atomic, write_json_atomic
from ..library.catalog import Catalog
from .params import AUTO_REDUCE_AT, REDUCED_DIM, IndexParams

__all__ = ["AUTO_REDUCE_AT", "REDUCED_DIM", "IndexParams", "VectorIndex"]
from .projection import Projection
from .whitening import Whitening, WhiteningSpec

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


def _save_array(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to a name
        np.save(f, array)


class VectorIndex:
    """An hnswlib index over photo ids, kept in step with a Catalog.

    Vectors go in as the catalog stores them (raw); the index may hold them whitened
    (learned from the library, refitted as it doubles) and, for big libraries, reduced
    by PCA. Queries come in raw too and scores are cosines in the whitened space."""

    def __init__(self, folder: Path, dim: int, params: IndexParams, whitening: WhiteningSpec | None = None):
        self.file = Path(folder) / "index.hnsw"
        self.state_file = Path(folder) / "index.json"
        self.projection_file = Path(folder) / "projection.npz"
        self.whitening_file = Path(folder) / "whitening.npz"
        self.norms_file = Path(folder) / "norms.npy"
        # compact and whitened: each photo's whitened part lengths, by id, so that
        # re-scoring candidates needs no matrix product (Whitening.scores)
        self._norms: np.ndarray | None = None
        # checksum of the fitted transforms as written beside the saved index; None: not
        # written yet (a fresh fit), so the next save writes them once, not at every checkpoint
        self._fit_crc32: int | None = None
        self.whitening_spec = whitening
        self.whitening: Whitening | None = None
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
    def full_dim(self) -> int:
        """Dimension of the vectors scores are computed on (whitened, not reduced)."""
        return self.whitening.dim if self.whitening is not None else self.dim

    @property
    def index_dim(self) -> int:
        return self.projection.dim if self.projection is not None else self.full_dim

    def _whiten(self, vecs: np.ndarray) -> np.ndarray:
        return self.whitening(vecs) if self.whitening is not None else np.asarray(vecs, np.float32)

    def _project(self, vecs: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
        if self.whitening is None:
            vecs = np.asarray(vecs, np.float32)
        else:
            vecs, norms = self.whitening.apply(vecs)
            if self.projection is not None and ids is not None:
                self._keep_norms(ids, norms)
        return self.projection(vecs) if self.projection is not None else vecs

    def _keep_norms(self, ids: np.ndarray, norms: np.ndarray) -> None:
        top = int(np.max(ids)) + 1
        if self._norms is None or top > len(self._norms):
            grown = np.zeros((max(top, int(1.25 * (0 if self._norms is None else len(self._norms)))),
                              norms.shape[1]), np.float32)
            if self._norms is not None:
                grown[: len(self._norms)] = self._norms
            self._norms = grown
        self._norms[np.asarray(ids, np.int64)] = norms

    def fit_due(self, count: int) -> str | None:
        """Why the whitening should be (re)fitted now, if it should."""
        spec = self.whitening_spec
        if spec is None:
            return "the library is no longer whitened" if self.whitening is not None else None
        if count < spec.min_photos:
            return None
        if self.whitening is None:
            return f"learning from the library's {count} photos"
        if count >= 2 * self.whitening.fitted_on:
            return f"the library has grown to {count} photos"
        return None

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
            stored = catalog.live_vector_count()
            if live != stored:
                problem = f"the index holds {live} photos but the catalog {stored}"
            elif self.projection is None and self._wanted_dim(stored) < self.full_dim:
                problem = "the library has grown: switching to a compact index"
            elif self.fit_due(stored):
                self.rebuild(catalog)  # routine, not worth a notice
                return True
        if problem is not None:
            if on_notice and (self.file.exists() or self.state_file.exists()):
                on_notice(f"Rebuilding the search index ({problem})")
            self.rebuild(catalog)
            changed = True
        return changed

    def _fit_crc(self, whitened: bool, projected: bool) -> int:
        crc = 0
        for used, f in ((whitened, self.whitening_file), (projected, self.projection_file)):
            if used:
                crc = zlib.crc32(f.read_bytes(), crc)
        return crc

    def _load(self) -> str | None:
        try:
            state = read_json(self.state_file, default={})
        except ValueError:
            return "the index state file is damaged"
        if not state or not self.file.exists():
            return "no saved index"
        if state.get("dim") != self.dim:
            return "the index has another dimension"
        whitening, projection = None, None
        if state.get("whitened_on"):
            try:
                whitening = Whitening.load(self.whitening_file)
            except (OSError, ValueError, KeyError) as exc:
                return f"the whitening cannot be read: {exc}"
            if whitening.in_dim != self.dim or whitening.fitted_on != state["whitened_on"]:
                return "the whitening does not fit the index"
        full_dim = whitening.dim if whitening is not None else self.dim
        norms = None
        if state.get("norms_rows"):
            try:
                norms = np.load(self.norms_file)
            except (OSError, ValueError) as exc:
                return f"the index's norms cannot be read: {exc}"
            if norms.shape != (state["norms_rows"], whitening.parts if whitening else -1):
                return "the index's norms do not fit the index"
        if state.get("index_dim", full_dim) != full_dim:
            try:
                projection = Projection.load(self.projection_file)
            except (OSError, ValueError, KeyError) as exc:
                return f"the index projection cannot be read: {exc}"
            if projection.components.shape != (full_dim, state["index_dim"]):
                return "the index projection does not fit the index"
        try:
            fitted = self._fit_crc(whitening is not None, projection is not None)
        except OSError as exc:
            return f"the index's transforms cannot be read: {exc}"
        if fitted != state.get("fit_crc32", 0):
            return "the index and its whitening or projection are from different fits"
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
            self.whitening = whitening
            self.projection = projection
            self._norms = norms
            self._fit_crc32 = fitted
            self.seq = int(state.get("seq", 0))
            self.deleted = int(state.get("deleted", 0))
        return None

    def _wanted_dim(self, count: int) -> int:
        full = self.full_dim
        if self.params.index_dim:
            return min(self.params.index_dim, full)
        return REDUCED_DIM if count >= AUTO_REDUCE_AT and full > REDUCED_DIM else full

    def rebuild(self, catalog: Catalog) -> None:
        """Fit the transforms again and rebuild from the stored vectors.

        Built aside and swapped in at the end: searches keep using the old index
        meanwhile (a refit of a big library takes a while), instead of waiting."""
        fresh = VectorIndex(self.file.parent, self.dim, self.params, self.whitening_spec)
        fresh._catalog = catalog
        fresh._build(catalog)
        with self._lock:
            for name in ("whitening", "projection", "_norms", "_fit_crc32", "_index", "deleted", "seq"):
                setattr(self, name, getattr(fresh, name))
            self._catalog = catalog
        self.catch_up(catalog)  # what changed while it was being built (a photo trashed meanwhile)

    def _build(self, catalog: Catalog) -> None:
        count = catalog.live_vector_count()
        spec = self.whitening_spec
        self.seq = catalog.seq
        sample = None
        if spec is not None and count >= spec.min_photos:
            sample = self._sample(catalog, spec.sample, count)
            self.whitening = Whitening.fit(sample, spec, fitted_on=count)
        wanted = self._wanted_dim(count)
        if wanted < self.full_dim and count > wanted:
            if sample is None:
                sample = self._sample(catalog, 20_000, count)
            self.projection = Projection.fit(self._whiten(sample), wanted)
        self._index = self._new(int(count * 1.25) + 1024)
        for ids, vecs in catalog.vectors_since(-1):
            self._add(ids, vecs)

    @staticmethod
    def _sample(catalog: Catalog, n: int, count: int) -> np.ndarray:
        """About n stored vectors spread over the whole library (not its first folder)."""
        step = max(1, count // n)
        parts, seen = [], 0
        for _, vecs in catalog.vectors_since(-1):
            first = (-seen) % step
            parts.append(np.asarray(vecs[first::step], np.float32))
            seen += len(vecs)
        return np.concatenate(parts)[:n]

    def catch_up(self, catalog: Catalog) -> bool:
        """Apply what the catalog changed since the index's sequence number."""
        seq = catalog.seq
        changed = seq != self.seq
        # removals first: a photo removed and then given a vector again has lost its
        # tombstone, so what remains of both lists is each photo's latest state
        self.remove(catalog.tombstones_since(self.seq))
        for ids, vecs in catalog.vectors_since(self.seq):
            self.add(ids, vecs)
        self.seq = seq
        return changed

    def save(self, catalog: Catalog) -> None:
        """Write the index atomically, then record what it reflects."""
        with self._lock:
            if self._index is None:
                return
            seq = self.seq
            # the fitted transforms first; the state names them by checksum, so a crash
            # before the state is written cannot pair an old index with new transforms
            if self._fit_crc32 is None:
                if self.whitening is not None:
                    self.whitening.save(self.whitening_file)
                if self.projection is not None:
                    self.projection.save(self.projection_file)
                self._fit_crc32 = self._fit_crc(self.whitening is not None, self.projection is not None)
            save_atomic(self.file, self._index.save_index)
            norms_rows = 0
            norms = self._norms
            if norms is not None and self.projection is not None:
                save_atomic(self.norms_file, lambda tmp: _save_array(tmp, norms))
                norms_rows = len(norms)
            state = {
                "seq": seq,
                "dim": self.dim,
                "size": self.file.stat().st_size,
                "crc32": _crc32(self.file),
                "capacity": self._index.get_max_elements(),
                "index_dim": self.index_dim,
                "whitened_on": self.whitening.fitted_on if self.whitening is not None else 0,
                "norms_rows": norms_rows,
                "fit_crc32": self._fit_crc32,
                "elements": self._index.element_count,
                "deleted": self.deleted,
                "params": self.params.to_dict(),
            }
        write_json_atomic(self.state_file, state)
        # tombstones are kept: a reader in another process may hold an index older than this one

    # -- changes -----------------------------------------------------------
    @property
    def live_count(self) -> int:
        with self._lock:
            return 0 if self._index is None else self._index.element_count - self.deleted

    def _add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        index = self._index
        if index is None:
            raise RuntimeError("_add before the index exists")
        if self.deleted:
            # hnswlib undeletes a label that is added again, without telling: count it back,
            # or the live count falls short of the catalog and the next open rebuilds
            for i in ids.tolist() if isinstance(ids, np.ndarray) else ids:
                try:
                    index.unmark_deleted(int(i))
                    self.deleted -= 1
                except RuntimeError:
                    pass  # not in the index, or not deleted
        need = index.element_count + len(ids)
        if need > index.get_max_elements():
            index.resize_index(max(need, int(index.get_max_elements() * 1.5)))
        index.add_items(self._project(vecs, ids), np.asarray(ids, dtype=np.int64))

    def add(self, ids: np.ndarray, vecs: np.ndarray, seq: int | None = None) -> None:
        """Add or replace vectors (a replaced photo keeps its id)."""
        if len(ids) == 0:
            return
        with self._lock:
            if self._index is None:
                self._index = self._new(len(ids) * 2)
            self._add(ids, vecs)
            if seq is not None:
                self.seq = max(self.seq, seq)

    def remove(self, ids: Iterable[int], seq: int | None = None) -> None:
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

    def live_ids(self) -> set[int]:
        """The photo ids a search can return (a check for tests and diagnostics: O(n), and it
        probes each label's deleted mark under the lock, as hnswlib has no direct way)."""
        with self._lock:
            if self._index is None:
                return set()
            live = set()
            for label in self._index.get_ids_list():
                try:
                    self._index.unmark_deleted(label)
                except RuntimeError:
                    live.add(int(label))
                else:
                    self._index.mark_deleted(label)
            return live

    def note_seq(self, seq: int) -> None:
        with self._lock:
            self.seq = max(self.seq, seq)

    # -- queries -----------------------------------------------------------
    def query(self, vector: np.ndarray, k: int,
              exclude: set[int] | frozenset[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine similarities of the k nearest photos, best first."""
        with self._lock:
            whitening, projection, norms = self.whitening, self.projection, self._norms
        q = whitening(vector)[0] if whitening is not None else np.asarray(vector, np.float32).reshape(-1)
        if projection is None:
            return self._knn(q, k, exclude)
        # compact index: find candidates, then score them exactly with the stored vectors
        ids, _ = self._knn(projection(q.reshape(1, -1))[0], max(k * 2, self.params.rerank), exclude)
        if self._catalog is None:
            raise RuntimeError("a compact index queried before it was opened")
        found, full = self._catalog.vectors(ids)
        if whitening is None:
            scores = full @ q
        elif norms is not None and len(found) and found.max() < len(norms) and norms[found].all():
            scores = whitening.scores(q, full, norms[found])
        else:
            scores = whitening(full) @ q
        order = np.argsort(-scores)[:k]
        return found[order], scores[order].astype(np.float32)

    def _knn(self, vector: np.ndarray, k: int,
             exclude: set[int] | frozenset[int]) -> tuple[np.ndarray, np.ndarray]:
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
            labels, dists = self._search(index, np.asarray(vector, np.float32).reshape(1, -1), k, filter=flt)
        return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)

    def _search(self, index: hnswlib.Index, q: np.ndarray, k: int, ef: int = 0, **kw: Any) -> tuple[Any, Any]:
        index.set_ef(max(ef or self.params.ef_search, k + 16))
        try:
            return index.knn_query(q, k=k, **kw)
        except RuntimeError:  # a sparse graph can come up short of k; ask again with a wider search
            index.set_ef(max(4 * k, 512))
            return index.knn_query(q, k=k, **kw)

    def neighbours(self, vectors: np.ndarray, k: int, ef: int = 0) -> np.ndarray:
        """[n, k] ids of each vector's nearest photos in the index's space, every core searching,
        for callers that score them themselves (`ef`: narrower than the library's own search)."""
        with self._lock:
            index, live = self._index, self.live_count
            if index is None or live == 0:
                return np.zeros((len(vectors), 0), np.int64)
            q = self._whiten(vectors)
            q = self.projection(q) if self.projection is not None else q
            labels, _ = self._search(index, np.asarray(q, np.float32), min(k, live), ef, num_threads=-1)
        return labels.astype(np.int64)
