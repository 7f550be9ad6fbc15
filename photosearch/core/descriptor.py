"""From a CNN's feature map to one vector per photo.

The plain descriptor is the model's own global average pooling. Options, each
measured by benchmarks/quality.py:
  - GeM pooling (generalised mean, p=3): favours the strongest activations;
  - R-MAC: max-pooled regions at three scales, summed;
  - multi-scale: the photo at several input sizes, descriptors summed;
  - flip: the photo and its mirror image, summed (the result is mirror-invariant);
  - query rotations: at query time the photo is also tried at 90/180/270 degrees
    (finds copies whose pixels were rotated; costs nothing at index time);
  - PCA-whitening learned from the library's own vectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from .embedder import Embedder, Embedding, l2_normalise
from .errors import ModelError
from .models import ModelSpec

POOLINGS = ("avg", "gem", "rmac")


@dataclass(frozen=True)
class DescriptorConfig:
    pooling: str = "avg"
    gem_p: float = 3.0
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    query_rotations: bool = False
    whiten: bool = False
    whiten_shrink: float = 0.1  # eigenvalue shrinkage: larger = milder whitening
    whiten_dim: int = 0  # keep this many whitened dimensions (0: all)
    # score = mean of the plain and the whitened cosine: whitening for copies, plain for subjects
    hybrid: bool = False
    # also describe a copy shrunk to this fraction of the photo and scaled back up:
    # the descriptor then also matches small, blurry copies (thumbnails, downscaled shares)
    lowres: float = 0.0

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLINGS}")
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))

    @property
    def needs_feature_map(self) -> bool:
        return self.pooling != "avg"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "DescriptorConfig":
        d = d or {}
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


CONFIGS: dict[str, DescriptorConfig] = {
    "avg": DescriptorConfig(),
    "gem": DescriptorConfig(pooling="gem"),
    "rmac": DescriptorConfig(pooling="rmac"),
    "avg+flip": DescriptorConfig(flip=True),
    "gem+flip": DescriptorConfig(pooling="gem", flip=True),
    "gem+rot": DescriptorConfig(pooling="gem", query_rotations=True),
    "gem+ms": DescriptorConfig(pooling="gem", scales=(1.0, 1.4142)),
    "gem+flip+rot": DescriptorConfig(pooling="gem", flip=True, query_rotations=True),
    "avg+flip+rot": DescriptorConfig(flip=True, query_rotations=True),
    "gem+flip+ms+rot": DescriptorConfig(pooling="gem", flip=True, scales=(1.0, 1.4142), query_rotations=True),
    "gem+flip+rot+wh": DescriptorConfig(pooling="gem", flip=True, query_rotations=True, whiten=True),
    "gem+flip+rot+low": DescriptorConfig(pooling="gem", flip=True, query_rotations=True, lowres=0.25),
    "gem+rot+low": DescriptorConfig(pooling="gem", query_rotations=True, lowres=0.25),
    "rmac+rot+low": DescriptorConfig(pooling="rmac", query_rotations=True, lowres=0.25),
    "gem+flip+rot+low+wh": DescriptorConfig(pooling="gem", flip=True, query_rotations=True, lowres=0.25,
                                            whiten=True),
    "gem+flip+rot+wh.5": DescriptorConfig(pooling="gem", flip=True, query_rotations=True, whiten=True,
                                          whiten_shrink=0.5),
    "gem+flip+rot+wh2": DescriptorConfig(pooling="gem", flip=True, query_rotations=True, whiten=True,
                                         whiten_shrink=2.0),
    "gem+rot+wh.5": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True, whiten_shrink=0.5),
    "gem+rot+wh": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True),
    "gem+rot+wh+hyb": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True, hybrid=True),
    "gem+rot+wh256": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True, whiten_dim=256),
    "gem+rot+wh256+hyb": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True, whiten_dim=256,
                                          hybrid=True),
    "gem+rot+wh512": DescriptorConfig(pooling="gem", query_rotations=True, whiten=True, whiten_dim=512),
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

    def __init__(self, embedder: Embedder, config: DescriptorConfig | None = None):
        self.embedder = embedder
        self.config = config or DescriptorConfig()
        if self.config.needs_feature_map and not embedder.spec.feature_map:
            raise ModelError(f"pooling {self.config.pooling!r} needs the model's feature map; "
                             "prepare the model with Descriptor.prepare_spec")
        base = embedder.spec.preprocess
        self._pres = [base if s == 1.0 else replace(base, size=int(round(base.size * s / 32)) * 32)
                      for s in self.config.scales]
        self._mean = None
        self._proj = None

    @staticmethod
    def prepare_spec(spec: ModelSpec, config: DescriptorConfig, cache_dir: Path) -> ModelSpec:
        """The model with what the config needs: its feature map exposed, any input size."""
        if not config.needs_feature_map and len(config.scales) == 1:
            return spec
        import onnx

        from . import onnxgraph
        from .fsutil import write_atomic

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
    def query_rotations(self) -> int:
        return 4 if self.config.query_rotations else 1

    def prepare(self, img: Image.Image) -> list[np.ndarray]:
        """The model inputs (views) for one photo; runs in decoding threads."""
        sources = [(pre, img) for pre in self._pres]
        if self.config.lowres:
            f = self.config.lowres
            small = img.resize((max(8, round(img.width * f)), max(8, round(img.height * f))), Image.BILINEAR)
            sources.append((self._pres[0], small))
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
        if self.config.pooling == "gem":
            return l2_normalise(gem(fmap, self.config.gem_p))
        return l2_normalise(rmac(fmap))

    def run(self, items: list[list[np.ndarray]]) -> Embedding:
        """Vectors for a batch of photos, given their views from `prepare`."""
        total, logits = None, None
        for v in range(len(items[0])):
            out = self.embedder.embed(np.stack([views[v] for views in items]),
                                      feature_map=self.config.needs_feature_map)
            pooled = self._pool(out)
            total = pooled if total is None else total + pooled
            if logits is None:
                logits = out.logits
        return Embedding(l2_normalise(total), logits)

    def describe_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.run([self.prepare(img) for img in images]).vectors

    # -- whitening ----------------------------------------------------------
    def fit_whitening(self, vectors: np.ndarray, dim: int | None = None, shrink: float | None = None) -> None:
        shrink = self.config.whiten_shrink if shrink is None else shrink
        x = np.asarray(vectors, np.float64)
        self._mean = x.mean(axis=0)
        cov = np.cov((x - self._mean).T)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1][: dim or len(vals)]
        vals, vecs = vals[order], vecs[:, order]
        self._proj = (vecs / np.sqrt(vals + shrink * vals.mean())).astype(np.float32)

    def whiten(self, vectors: np.ndarray) -> np.ndarray:
        if self._proj is None:
            return vectors
        return l2_normalise((np.asarray(vectors, np.float32) - self._mean.astype(np.float32)) @ self._proj)

    @staticmethod
    def query_scores(queries: np.ndarray, library: np.ndarray, queries_per_item: int = 1) -> np.ndarray:
        """Cosine scores; with several rotated versions per query, the best one counts."""
        sims = queries @ library.T
        if queries_per_item > 1:
            sims = sims.reshape(-1, queries_per_item, library.shape[0]).max(axis=1)
        return sims
