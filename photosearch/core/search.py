"""Queries: by an outside image, by a photo of the library, by several at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .errors import ImageError, PhotosearchError
from .library.libraries import Library
from .vision.descriptor import Descriptor
from .vision.embedder import Embedder, l2_normalise
from .vision.imageio import decode, read_bytes


@dataclass(frozen=True)
class Hit:
    id: int
    path: str
    score: float  # cosine similarity, 1.0 = identical descriptor
    companions: tuple[str, ...] = ()  # RAW files that go with this photo (same name, same folder)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "score": round(float(self.score), 5)}
        if self.companions:
            d["companions"] = list(self.companions)
        return d


@dataclass
class SearchResult:
    """A search and what it found. It keeps its query vector, so a front end can show more
    or fewer results (`Searcher.refine`) without embedding or deciding anything again."""

    vector: np.ndarray | None  # None for a keyword search
    hits: list[Hit]
    exclude: tuple[int, ...] = ()  # the library photos searched with (never their own results)
    text: str | None = None  # the keyword of a keyword search
    copies_level: str | None = None  # "find copies of this photo": the duplicates level asked for


class Searcher:
    """Search one open library; the model is needed only for outside images."""

    def __init__(self, library: Library, model: Embedder | Descriptor | None = None):
        self.library = library
        self.descriptor = None
        if model is not None:
            self.descriptor = model if isinstance(model, Descriptor) else Descriptor(model)

    @property
    def embedder(self) -> Embedder | None:
        return self.descriptor.embedder if self.descriptor is not None else None

    # -- query vectors -----------------------------------------------------
    def _decode(self, source: str | Path | bytes) -> Image.Image:
        if self.descriptor is None:
            raise PhotosearchError("no model is loaded for searching by image")
        data = read_bytes(source) if isinstance(source, (str, Path)) else bytes(source)
        if not data:
            raise ImageError("the image file is empty")
        try:
            name = str(source) if isinstance(source, (str, Path)) else None
            return decode(data, min_side=self.descriptor.min_side, name=name).image
        except ImageError as exc:
            name = f"{Path(source).name}: " if isinstance(source, (str, Path)) else ""
            raise ImageError(f"{name}{exc}") from exc

    def embed_image(self, source: str | Path | bytes) -> np.ndarray:
        """The descriptor of an image given as a path or as encoded bytes."""
        if self.descriptor is None:
            raise PhotosearchError("no model is loaded for searching by image")
        return self.descriptor.describe_images([self._decode(source)])[0]

    def query_vectors(self, sources: Sequence[str | Path | bytes]) -> np.ndarray:
        """The vectors to search with: one per rotation of a single image (when the
        descriptor tries rotations), else the normalised mean of the images."""
        if len(sources) == 1 and self.descriptor is not None and self.descriptor.query_rotations > 1:
            return self.descriptor.describe_images(self.descriptor.query_images(self._decode(sources[0])))
        return mean_vector(np.stack([self.embed_image(s) for s in sources])).reshape(1, -1)

    def photo_vectors(self, photo_ids: Iterable[int]) -> np.ndarray:
        ids, vecs = self.library.catalog.vectors(photo_ids)
        if len(ids) == 0:
            raise PhotosearchError("the chosen photos are not indexed yet")
        return vecs

    def photo_id(self, path: str | Path) -> int:
        p = str(Path(path).expanduser().absolute())
        photo = self.library.catalog.photo_by_path(p) or self.library.catalog.photo_by_path(str(Path(p).resolve()))
        if photo is None:
            raise PhotosearchError(f"{path} is not in library {self.library.name!r}")
        return photo.id

    # -- searching ---------------------------------------------------------
    def by_vector(self, vector: np.ndarray, k: int = 20, min_score: float = -1.0,
                  exclude: Sequence[int] = ()) -> list[Hit]:
        """Photos nearest to one vector, or to any of several (each photo scores its best)."""
        index = self.library.index
        if index is None:
            return []
        exclude_set = frozenset(int(i) for i in exclude)
        best: dict[int, float] = {}
        for q in l2_normalise(np.asarray(vector, np.float32).reshape(-1, index.dim)):
            # ask for a few extra to absorb rows removed since the index was loaded
            ids, scores = index.query(q, k + 8, exclude=exclude_set)
            for i, sc in zip(ids.tolist(), scores.tolist()):
                if sc > best.get(i, -2.0):
                    best[i] = sc
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        paths = self.library.catalog.paths(i for i, _ in ranked[: k + 8])
        hits = [Hit(i, paths[i], float(s)) for i, s in ranked if i in paths and s >= min_score][:k]
        return self._with_companions(hits)

    def _with_companions(self, hits: list[Hit]) -> list[Hit]:
        found = self.library.catalog.companions_of(h.path for h in hits)
        if not found:
            return hits
        return [Hit(h.id, h.path, h.score, tuple(found.get(h.path, ()))) for h in hits]

    def search_images(self, sources: Sequence[str | Path | bytes], k: int = 20,
                      min_score: float = -1.0) -> SearchResult:
        vector = self.query_vectors(sources)
        return SearchResult(vector, self.by_vector(vector, k, min_score))

    def search_photos(self, photo_ids: Sequence[int], k: int = 20, min_score: float = -1.0) -> SearchResult:
        """Photos like these library photos (their stored vectors; nothing is decoded)."""
        exclude = tuple(int(i) for i in photo_ids)
        vector = mean_vector(self.photo_vectors(exclude))
        return SearchResult(vector, self.by_vector(vector, k, min_score, exclude=exclude), exclude)

    def search_text(self, text: str, k: int = 20, min_score: float = 0.0) -> SearchResult:
        return SearchResult(None, self.by_text(text, k, min_score), text=text)

    def search_copies(self, photo_id: int, level: str = "copies", k: int = 200,
                      min_score: float = -1.0) -> SearchResult:
        """The copies of one library photo at a duplicates level (scored as duplicates are)."""
        from .duplicates.finder import accepts_at
        from .duplicates.grouping import copies_of
        from .duplicates.levels import CANDIDATE

        found = copies_of(self.library, photo_id, accepts_at(self.library, level),
                          floor=max(CANDIDATE[level], min_score))[:k]
        paths = self.library.catalog.paths(i for i, _ in found)
        hits = self._with_companions([Hit(i, paths[i], s) for i, s in found if i in paths])
        return SearchResult(None, hits, (photo_id,), copies_level=level)

    def refine(self, result: SearchResult, k: int, min_score: float) -> SearchResult:
        """The same search with another result count or threshold; nothing is embedded again."""
        if result.copies_level is not None:
            return self.search_copies(result.exclude[0], result.copies_level, k, min_score)
        if result.text is not None:
            return self.search_text(result.text, k, max(0.0, min_score))
        if result.vector is None:
            return SearchResult(None, [])
        return SearchResult(result.vector, self.by_vector(result.vector, k, min_score, exclude=result.exclude),
                            result.exclude)

    def by_images(self, sources: Sequence[str | Path | bytes], k: int = 20, min_score: float = -1.0) -> list[Hit]:
        return self.search_images(sources, k, min_score).hits

    def by_photos(self, photo_ids: Sequence[int], k: int = 20, min_score: float = -1.0) -> list[Hit]:
        return self.search_photos(photo_ids, k, min_score).hits

    def by_text(self, text: str, k: int = 20, min_score: float = 0.0) -> list[Hit]:
        """Photos whose recorded ImageNet classes match a word ("dog", "car"), most probable first."""
        from .vision.labels import LabelIndex

        classes = LabelIndex.load().match(text)
        if not classes:
            raise PhotosearchError(f"no photo subject called {text!r} is known; try a simpler or more general word")
        score: dict[int, float] = {}
        for photo_id, _cls, prob in self.library.catalog.photos_with_classes(classes):
            score[photo_id] = min(1.0, score.get(photo_id, 0.0) + prob)
        ranked = sorted(((s, i) for i, s in score.items() if s >= min_score), reverse=True)[:k]
        paths = self.library.catalog.paths(i for _, i in ranked)
        return self._with_companions([Hit(i, paths[i], s) for s, i in ranked if i in paths])


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    return l2_normalise(np.asarray(vectors, np.float32).mean(axis=0))
