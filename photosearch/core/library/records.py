"""What the catalog hands out and takes in: plain records, no database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Known:
    id: int
    size: int
    mtime_ns: int
    status: int
    fingerprint: str | None


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    size: int
    mtime_ns: int
    status: int
    error: str | None
    width: int | None
    height: int | None


@dataclass
class Indexed:
    id: int
    size: int
    mtime_ns: int
    fingerprint: str | None
    width: int
    height: int
    vector: np.ndarray
    labels: list[tuple[int, float]] | None = None
    regions: bytes | None = None  # for the duplicates' spatial check (vision/regions.py)
    taken: float | None = None  # EXIF capture time
    camera: str = ""  # EXIF "Make Model"
    pixels: bytes | None = None  # the picture, small, to prove copies (vision/pixels.py)


@dataclass
class Failed:
    id: int
    size: int
    mtime_ns: int
    fingerprint: str | None
    error: str
