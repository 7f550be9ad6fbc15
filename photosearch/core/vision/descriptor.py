"""From a CNN's feature map to one vector per photo.

The plain descriptor is the model's own global average pooling. Options, each
measured by benchmarks/quality.py:
  - GeM pooling (generalised mean, p=3): favours the strongest activations;
  - R-MAC: max-pooled regions at three scales, summed;
  - multi-scale: the photo at several input sizes, descriptors summed;
  - flip: the photo and its mirror image, summed (the result is mirror-invariant);
  - query rotations: at query time the photo is also tried at 90/180/270 degrees
    (finds copies whose pixels were rotated; costs nothing at index time);
  - thumbnail part: the photo also described at a small input size, kept as a
    second part of the vector (finds small, blurry copies);
  - PCA-whitening learned from the library's own vectors (whitening.py; applied
    by the index, so stored vectors stay raw).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..config import load_dataclass
from ..errors import ModelError
from ..index.whitening import WhiteningSpec
from ..models.spec import ModelSpec
from .embedder import Embedder, Embedding, l2_normalise
from .imageio import Need
from .regions import regions_of

POOLINGS = ("avg", "gem", "rmac")


@dataclass(frozen=True)
class DescriptorConfig:
    pooling: str = "avg"
    gem_p: float = 3.0
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    query_rotations: bool = False
    # a second part: the photo described again at this small input size (0: none). A
    # copy shrunk to a thumbnail and the original, both seen this small, look alike,
    # where the blurry copy blown up to full size does not look like the sharp original.
    thumb: int = 0
    # also describe a copy shrunk to this fraction of the photo and scaled back up,
    # summed into the descriptor (measured; `thumb` does better)
    lowres: float = 0.0
    # PCA-whitening learned from the library (see whitening.py); raw vectors are stored
    whiten: bool = False
    whiten_shrink: float = 10.0
    whiten_power: float = 0.5
    whiten_dim: int = 512  # per part (0: all)
    whiten_min_photos: int = 1000  # below this the library's vectors are searched as they are

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLINGS}")
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))

    @property
    def needs_feature_map(self) -> bool:
        return self.pooling != "avg"

    @property
    def parts(self) -> int:
        return 2 if self.thumb else 1

    def whitening(self) -> WhiteningSpec | None:
        if not self.whiten:
            return None
        return WhiteningSpec(parts=self.parts, shrink=self.whiten_shrink, power=self.whiten_power,
                             dim=self.whiten_dim, min_photos=self.whiten_min_photos)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> DescriptorConfig:
        if not d:
            return DEFAULT
        return load_dataclass(cls, d, "the descriptor settings")


_GEM = DescriptorConfig(pooling="gem")

# What measured best on benchmarks/quality.py (see README, "How similar is similar"):
# GeM pooling, a thumbnail-size second part, rotations tried at query time, and
# half-way whitening learned from the library. Cost per photo at indexing: one
# full-size and one 128 px pass of the model (1.57x the model time of plain pooling
# with a ResNet-50-sized model, benchmarks/indexing.py).
DEFAULT = replace(_GEM, thumb=128, query_rotations=True, whiten=True)

CONFIGS: dict[str, DescriptorConfig] = {
    "default": DEFAULT,
    "avg": DescriptorConfig(),
    "gem": _GEM,
    "rmac": DescriptorConfig(pooling="rmac"),
    "gem+flip": replace(_GEM, flip=True),
    "gem+ms": replace(_GEM, scales=(1.0, 1.4142)),
    "gem+rot": replace(_GEM, query_rotations=True),
    "gem+flip+rot": replace(_GEM, flip=True, query_rotations=True),
    "gem+low+rot": replace(_GEM, lowres=0.25, query_rotations=True),
    "gem+thumb+rot": replace(_GEM, thumb=128, query_rotations=True),
    # whitening as the literature has it (full, little shrinkage, every dimension)
    "gem+rot+fullwh": replace(_GEM, query_rotations=True, whiten=True, whiten_shrink=0.1, whiten_power=1.0,
                              whiten_dim=0),
    "gem+rot+wh": replace(_GEM, query_rotations=True, whiten=True),
    "gem+thumb+rot+fullwh": replace(DEFAULT, whiten_shrink=0.1, whiten_power=1.0, whiten_dim=0),
    "gem+thumb+rot+wh-all": replace(DEFAULT, whiten_dim=0),
}


def gem(fmap: np.ndarray, p: float = 3.0) -> np.ndarray:
    x = np.maximum(fmap, 1e-6)
    return np.power(np.power(x, p).mean(axis=(2, 3)), 1.0 / p)


def rmac(fmap: np.ndarray, levels: int = 3) -> np.ndarray:
    """Regional maximum activations: square regions at `levels` scales, max-pooled, L2'd and summed."""
    n, c, h, w = fmap.shape
    total = np.zeros((n, c), np.float32)
    for level in range(1, levels + 1):
        side = max(1, int(round(2 * min(h, w) / (level + 1))))
        ys = np.unique(np.linspace(0, h - side, level + (h > w)).round().astype(int))
        xs = np.unique(np.linspace(0, w - side, level + (w > h)).round().astype(int))
        for y in ys:
            for x in xs:
                total += l2_normalise(fmap[:, :, y:y + side, x:x + side].max(axis=(2, 3)))
    return total


class Descriptor:
    """Turns photos into library vectors with a model and a DescriptorConfig."""

    def __init__(self, embedder: Embedder, config: DescriptorConfig | None = None, precision: str = "fp32"):
        self.embedder = embedder
        self.config = config or DescriptorConfig()
        self.precision = precision  # what the model computes in: "fp32" or "int8" (recorded per library)
        if self.config.needs_feature_map and not embedder.spec.feature_map:
            raise ModelError(f"pooling {self.config.pooling!r} needs the model's feature map; "
                             "prepare the model with Descriptor.prepare_spec")
        base = embedder.spec.preprocess
        self._pres = [base if s == 1.0 else replace(base, size=int(round(base.size * s / 32)) * 32)
                      for s in self.config.scales]
        self._thumb = replace(base, size=self.config.thumb) if self.config.thumb else None

    @staticmethod
    def prepare_spec(spec: ModelSpec, config: DescriptorConfig, cache_dir: Path) -> ModelSpec:
        """The model with what the config needs: its feature map exposed, any input size."""
        if not config.needs_feature_map and len(config.scales) == 1:
            return spec
        import onnx

        from ..fsutil import write_atomic
        from ..models import onnxgraph

        out = Path(cache_dir) / f"{spec.sha256[:16]}-fmap.onnx"
        model = onnx.load(str(spec.file_for_runtime))
        fmap = onnxgraph.feature_map(model, spec.embedding)
        if not out.exists():
            onnxgraph.expose(model, fmap)
            onnxgraph.free_spatial_dims(model)
            write_atomic(out, model.SerializeToString())
        return replace(spec, runtime_path=out, feature_map=fmap)

    @property
    def min_side(self) -> int:
        return max(p.min_side for p in self._pres)

    @property
    def need(self) -> Need:
        """The smallest picture the model's views are made from (indexer.indexing_need adds the rest):
        the model's input size on the shorter side. A view is cut from the picture scaled to
        `min_side` (the centre crop's margin), so a picture this small is enlarged by at most
        1/crop_fraction (1.14x): measured the same as the full picture (a 320x240 HEIC thumbnail:
        mean cosine 0.98 to the full decode, copies found as from the full picture; 240x180 falls
        to 0.96; benchmarks/heif_thumbnails.py)."""
        return Need(short=max(p.size for p in self._pres))

    @property
    def query_rotations(self) -> int:
        return 4 if self.config.query_rotations else 1

    def prepare(self, img: Image.Image) -> list[np.ndarray]:
        """The model inputs (views) for one photo; runs in decoding threads."""
        sources = [(pre, img) for pre in self._pres]
        if self.config.lowres:
            f = self.config.lowres
            small = img.resize((max(8, round(img.width * f)), max(8, round(img.height * f))), Image.Resampling.BILINEAR)
            sources.append((self._pres[0], small))
        if self._thumb is not None:
            sources.append((self._thumb, img))  # always last: `run` splits the parts there
        views = []
        for pre, im in sources:
            t = pre(im)
            views.append(t)
            if self.config.flip:
                views.append(np.ascontiguousarray(t[:, :, ::-1]))
        return views

    def query_images(self, img: Image.Image) -> list[Image.Image]:
        if not self.config.query_rotations:
            return [img]
        return [img] + [img.transpose(op) for op in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
                                                      Image.Transpose.ROTATE_270)]

    def _pool(self, out: Embedding) -> np.ndarray:
        if self.config.pooling == "avg":
            return out.vectors
        fmap = out.feature_map
        if fmap is None:
            raise ModelError("the model gave no feature map to pool")
        if self.config.pooling == "gem":
            return l2_normalise(gem(fmap, self.config.gem_p))
        return l2_normalise(rmac(fmap))

    def run(self, items: list[list[np.ndarray]]) -> Embedding:
        """Vectors for a batch of photos, given their views from `prepare`."""
        n_views = len(items[0])
        n_thumb = (2 if self.config.flip else 1) if self._thumb is not None else 0
        sums: list[Any] = [0.0] * self.config.parts  # views of one part are summed
        logits = None
        regions = None
        for v in range(n_views):
            out = self.embedder.embed(np.stack([views[v] for views in items]),
                                      feature_map=self.config.needs_feature_map)
            sums[int(v >= n_views - n_thumb)] += self._pool(out)
            if logits is None:
                logits = out.logits
                if out.feature_map is not None:  # the full-size view: free regions for duplicates
                    regions = regions_of(out.feature_map)
        # each part unit length, the whole too: the cosine is the mean of the parts' cosines
        vectors = np.concatenate([l2_normalise(p) for p in sums], axis=1) / np.float32(np.sqrt(len(sums)))
        return Embedding(vectors.astype(np.float32), logits, regions=regions)

    @property
    def dim(self) -> int:
        return self.embedder.dim * self.config.parts

    def probe(self) -> None:
        """Describe one grey image: a model that cannot take every view fails here, not mid-index."""
        img = Image.new("RGB", (self.min_side, self.min_side), (128, 128, 128))
        try:
            out = self.run([self.prepare(img)]).vectors
        except ModelError:
            raise
        except Exception as exc:  # e.g. a graph reshaping to a fixed size
            raise ModelError(f"{type(exc).__name__}: {exc}") from exc
        if out.shape != (1, self.dim):
            raise ModelError(f"it gives descriptors of shape {out.shape[1:]} at these input sizes, "
                             f"not ({self.dim},)")

    def describe_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.run([self.prepare(img) for img in images]).vectors

    @staticmethod
    def query_scores(queries: np.ndarray, library: np.ndarray, queries_per_item: int = 1) -> np.ndarray:
        """Cosine scores; with several rotated versions per query, the best one counts."""
        sims = queries @ library.T
        if queries_per_item > 1:
            sims = sims.reshape(-1, queries_per_item, library.shape[0]).max(axis=1)
        return sims
