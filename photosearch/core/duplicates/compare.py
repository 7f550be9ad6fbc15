"""Two photos side by side: how alike they are (the duplicates score and its level) and what
differs (resolution, file size, date, format). Either photo may be outside any library."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError
from ..vision.descriptor import Descriptor
from ..vision.imageio import decode, open_image
from .grouping import LEVELS


@dataclass(frozen=True)
class PhotoFacts:
    path: str
    width: int
    height: int
    size: int
    modified: str  # ISO date of the file
    format: str

    @classmethod
    def of(cls, path: str) -> PhotoFacts:
        st = os.stat(path)
        decoded = decode(path, min_side=64)
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


def compare(descriptor: Descriptor, a: str, b: str) -> dict[str, Any]:
    """The JSON `photosearch compare --json` prints (an interface: keep its keys)."""
    fa, fb = PhotoFacts.of(a), PhotoFacts.of(b)
    images = [decode(p, min_side=descriptor.min_side).image for p in (a, b)]
    va, vb = descriptor.describe_images(images)
    score = float(np.dot(va, vb))
    differs = {}
    for key in ("width", "height", "size", "modified", "format"):
        x, y = getattr(fa, key), getattr(fb, key)
        if x != y:
            differs[key] = [x, y]
    return {"score": round(score, 4), "level": level_of(score), "a": fa.__dict__, "b": fb.__dict__,
            "differs": differs}
