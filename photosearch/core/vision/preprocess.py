"""Turn a decoded photo into the tensor a model expects.

How to resize and normalise is a property of the model, so it lives in a
`Preprocess` value carried by the model's description, never in the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..config import load_dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RESIZE_POLICIES = ("center_crop", "squash", "pad")


@dataclass(frozen=True)
class Preprocess:
    size: int = 224
    # center_crop: shorter side to size/crop_fraction, then the central size x size
    # squash: the whole photo stretched to size x size (nothing cut off)
    # pad: the whole photo fitted inside size x size on a grey background
    resize: str = "center_crop"
    crop_fraction: float = 0.875
    mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    std: tuple[float, float, float] = field(default=IMAGENET_STD)
    # pixel values are first scaled to [0, scale]: 1.0 for torchvision-style
    # models, 255.0 for models trained on raw 0-255 input
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"unknown resize policy {self.resize!r}; expected one of {RESIZE_POLICIES}")
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))

    @property
    def min_side(self) -> int:
        """The shortest side a decoded image needs for this preprocessing."""
        if self.resize == "center_crop":
            return int(round(self.size / self.crop_fraction))
        return self.size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Preprocess:
        return load_dataclass(cls, d, "the model's preprocessing")

    def geometry(self, img: Image.Image) -> Image.Image:
        """Resize (and crop or pad) an RGB image to size x size."""
        s = self.size
        w, h = img.size
        if self.resize == "squash":
            return img.resize((s, s), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if self.resize == "pad":
            scale = s / max(w, h)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            canvas = Image.new("RGB", (s, s), (124, 116, 104))
            fitted = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
            canvas.paste(fitted, ((s - nw) // 2, (s - nh) // 2))
            return canvas
        short = self.min_side
        scale = short / min(w, h)
        nw, nh = max(s, round(w * scale)), max(s, round(h * scale))
        img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
        left, top = (nw - s) // 2, (nh - s) // 2
        return img.crop((left, top, left + s, top + s))

    def normalise(self, img: Image.Image) -> np.ndarray:
        """RGB image (already size x size) -> float32 CHW tensor."""
        # one float copy, made straight in CHW order, then scaled in place: the same values,
        # bit for bit, as (x * mul + add) in HWC and a transposed copy, at a third of the cost
        chw = np.asarray(img).transpose(2, 0, 1).astype(np.float32, order="C")
        chw *= np.asarray([self.scale / 255.0 / sd for sd in self.std], dtype=np.float32)[:, None, None]
        chw += np.asarray([-m / sd for m, sd in zip(self.mean, self.std)], dtype=np.float32)[:, None, None]
        return chw

    def __call__(self, img: Image.Image) -> np.ndarray:
        return self.normalise(self.geometry(img))
