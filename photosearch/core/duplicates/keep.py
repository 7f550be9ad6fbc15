"""Which photo of a duplicate group to keep: an ordered list of rules, preferred folders,
the user's own choice, and reference folders whose photos are never chosen for removal."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PhotosearchError

# resolution first (of the picture: a frame adds pixels, not picture), then the larger file, then
# the older capture date (EXIF, else the file's date), then the camera original over a re-encode
# or a screenshot, then the shorter path
DEFAULT_RULES = ("resolution", "size", "date", "original", "path")
CAMERA_FORMATS = {".jpg", ".jpeg", ".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2",
                  ".raf", ".pef", ".srw"}


@dataclass(frozen=True)
class Candidate:
    id: int
    path: str
    size: int
    mtime_ns: int
    width: int
    height: int
    taken: float | None = None  # EXIF capture time
    camera: str = ""  # EXIF "Make Model"
    chosen: bool = False  # the user said: keep this one
    content: float = 1.0  # the share of the pixels that is the picture (flat borders left out)

    @property
    def picture(self) -> float:
        """Pixels of the picture itself, a frame's left out."""
        return self.width * self.height * self.content

    @property
    def date(self) -> float:
        return self.taken if self.taken is not None else self.mtime_ns / 1e9

    @property
    def origin(self) -> int:
        """0: a camera original; 1: a re-encode or an export; 2: a screenshot."""
        name = Path(self.path).name.lower()
        if "screenshot" in name or "screen shot" in name or "bildschirmfoto" in name:
            return 2
        return 0 if self.camera and Path(name).suffix in CAMERA_FORMATS else 1


# a frame's edge bleeds a pixel or two into the measured content box: pictures this close
# are the same size, and the next rule decides
SAME_PICTURE = 0.97


def _key(c: Candidate, rule: str, best_picture: float) -> float:
    if rule == "resolution":
        return -best_picture if c.picture >= SAME_PICTURE * best_picture else -c.picture
    if rule == "size":
        return -c.size * c.content  # the bytes spent on the picture: a frame adds bytes too
    if rule == "date":
        return c.date
    if rule == "original":
        return c.origin
    if rule == "path":
        return len(c.path)
    raise PhotosearchError(f"unknown keep rule {rule!r}; use {', '.join(DEFAULT_RULES)}")


def parse_rules(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_RULES
    rules = tuple(r.strip() for r in text.split(",") if r.strip())
    for rule in rules:
        if rule not in DEFAULT_RULES:
            raise PhotosearchError(f"unknown keep rule {rule!r}; use a comma-separated list of "
                                   f"{', '.join(DEFAULT_RULES)}")
    return rules


def in_folders(path: str, folders: Sequence[str]) -> bool:
    return any(path.startswith(os.path.abspath(f).rstrip(os.sep) + os.sep) for f in folders)


def preference(c: Candidate, rules: Sequence[str] = DEFAULT_RULES, reference: Sequence[str] = (),
               prefer: Sequence[str] = ()) -> tuple[float, ...]:
    """A sort key over a whole library, best to keep first: the order in which grouping tries
    photos as the centres of their groups, so that a group's centre is the photo `choose` keeps
    (but for pictures within SAME_PICTURE of each other, which `choose` tells apart by the next rule)."""
    def key(rule: str) -> float:
        if rule == "resolution":  # sizes within SAME_PICTURE of each other fall in one step
            return -float(np.floor(np.log(max(c.picture, 1.0)) / -np.log(SAME_PICTURE)))
        return _key(c, rule, c.picture)

    return (float(not (reference and in_folders(c.path, reference))), float(not c.chosen),
            float(not (prefer and in_folders(c.path, prefer))), *(key(r) for r in rules))


def choose(members: Sequence[Candidate], rules: Sequence[str] = DEFAULT_RULES, reference: Sequence[str] = (),
           prefer: Sequence[str] = ()) -> tuple[Candidate, list[Candidate], list[Candidate]]:
    """(the photo to keep, the others that may go, the protected ones in reference folders).

    Order: a photo in a reference folder, then the user's choice, then a preferred folder,
    then the rules."""
    protected = [m for m in members if reference and in_folders(m.path, reference)]
    pool = protected or list(members)
    best = max(c.picture for c in pool)
    keep = min(pool, key=lambda c: (not c.chosen, not (prefer and in_folders(c.path, prefer)),
                                    *(_key(c, r, best) for r in rules), c.path))
    others = [m for m in members if m is not keep and m not in protected]
    return keep, others, [p for p in protected if p is not keep]
