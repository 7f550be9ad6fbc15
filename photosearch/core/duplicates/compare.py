"""Two photos side by side: how alike they are (the duplicates score and its level), what
differs (resolution, file size, date, format), and where each matches the other (the similarity
maps the app draws). Either photo may be outside any library."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ImageError
from ..vision.descriptor import Descriptor
from ..vision.glance import correlation, glance_of
from ..vision.imageio import Decoded, decode, open_image
from ..vision.regions import GRID, unpack
from .pairs import GLANCE_MATCH, LEVELS, score_pairs


@dataclass(frozen=True)
class PhotoFacts:
    path: str
    width: int
    height: int
    size: int
    modified: str  # ISO date of the file
    format: str

    @classmethod
    def of(cls, path: str, decoded: Decoded) -> PhotoFacts:
        st = os.stat(path)
        try:
            fmt = open_image(path).format or Path(path).suffix.lstrip(".").upper()
        except ImageError:
            fmt = Path(path).suffix.lstrip(".").upper()  # RAW files: LibRaw, not Pillow
        when = datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")
        return cls(path, decoded.width, decoded.height, st.st_size, when, fmt)


def level_of(score: float) -> str:
    for name in ("identical", "copies", "similar"):
        if score >= LEVELS[name]:
            return name
    return "different"


@dataclass
class Comparison:
    score: float
    cosine: float
    level: str
    a: PhotoFacts
    b: PhotoFacts
    # for each region of A (GRID x GRID, row by row), its best cosine among B's regions; and B's
    map_a: np.ndarray = field(default_factory=lambda: np.zeros((GRID, GRID), np.float32))
    map_b: np.ndarray = field(default_factory=lambda: np.zeros((GRID, GRID), np.float32))
    # the part of each photo the maps cover, (left, top, right, bottom) as fractions: the model
    # sees the central square of a photo
    area_a: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    area_b: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    images: tuple[Image.Image, ...] = ()  # the two photos as decoded (for showing them)
    # the glances match: the whole picture is the same, perhaps turned, mirrored, shrunk or framed
    # (then the region map can look patchy: the model's features change when a photo is turned)
    whole_picture: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON `photosearch compare --json` prints (an interface: keep its keys)."""
        differs = {}
        for key in ("width", "height", "size", "modified", "format"):
            x, y = getattr(self.a, key), getattr(self.b, key)
            if x != y:
                differs[key] = [x, y]
        return {"score": round(self.score, 4), "level": self.level, "cosine": round(self.cosine, 4),
                "whole_picture": self.whole_picture,
                "a": self.a.__dict__, "b": self.b.__dict__, "differs": differs}


def _area(width: int, height: int, fraction: float) -> tuple[float, float, float, float]:
    side = min(width, height) * fraction
    fx, fy = side / width / 2, side / height / 2
    return (0.5 - fx, 0.5 - fy, 0.5 + fx, 0.5 + fy)


def compare_photos(descriptor: Descriptor, a: str, b: str, min_side: int = 0) -> Comparison:
    """`min_side`: decode at least this large (a viewer's size); each photo is decoded once."""
    decoded = [decode(p, min_side=max(descriptor.min_side, min_side)) for p in (a, b)]
    fa, fb = PhotoFacts.of(a, decoded[0]), PhotoFacts.of(b, decoded[1])
    images = [d.image for d in decoded]
    out = descriptor.run([descriptor.prepare(im) for im in images])
    cosine = float(np.dot(out.vectors[0], out.vectors[1]))
    blobs: list[bytes | None] = ([r + glance_of(im) for r, im in zip(out.regions, images)] if out.regions
                                 else [None, None])
    score = float(score_pairs(np.array([cosine]), [blobs[0]], [blobs[1]])[0])
    result = Comparison(score, cosine, level_of(score), fa, fb, images=(images[0], images[1]))
    if out.regions:
        (ra, rb), _, glances = unpack([b for b in blobs if b is not None])
        result.whole_picture = bool(correlation(glances[:1], glances[1:])[0] >= GLANCE_MATCH)
        sim = ra @ rb.T
        result.map_a = sim.max(1).reshape(GRID, GRID)
        result.map_b = sim.max(0).reshape(GRID, GRID)
    pre = descriptor.embedder.spec.preprocess
    fraction = pre.crop_fraction if pre.resize == "center_crop" else 1.0
    result.area_a = _area(images[0].width, images[0].height, fraction)
    result.area_b = _area(images[1].width, images[1].height, fraction)
    return result


def compare(descriptor: Descriptor, a: str, b: str) -> dict[str, Any]:
    return compare_photos(descriptor, a, b).to_dict()
