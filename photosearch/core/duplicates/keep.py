"""Which photo of a duplicate group to keep: an ordered list of rules, preferred folders,
the user's own choice, and reference folders whose photos are never chosen for removal.

Folders and photos are compared by their resolved paths (links followed), so a folder named
through a link protects the photos in it."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import PhotosearchError
from .verify import ADDED

# resolution first (of the picture: a frame adds pixels, not picture), then the larger file, then
# the older capture date (EXIF, else the file's date), then the camera original over a re-encode
# or a screenshot, then the shorter path
# the camera original before the file size: at one resolution a re-save or an export is never
# better than its source, and it loses the capture date and camera a bigger file cannot make up for
DEFAULT_RULES = ("resolution", "original", "size", "date", "path")
CAMERA_FORMATS = {".jpg", ".jpeg", ".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2",
                  ".raf", ".pef", ".srw"}
# formats that keep every pixel: a file in one of them holding a JPEG's very pixels was made from
# the JPEG (the other way round, JPEG coding would have changed them)
LOSSLESS_FORMATS = {".png", ".tif", ".tiff", ".bmp", ".gif"}


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
    real: str = ""  # the resolved path (links followed); "" when it is `path`
    companions: tuple[str, ...] = ()  # its RAW files: they go where it goes, and make it the camera original
    links: tuple[tuple[int, str], ...] = ()  # other catalog entries that are links to this same file

    @property
    def names(self) -> tuple[str, ...]:
        """Every path this photo is known by: its own, the file it resolves to, its links."""
        return (self.path, self.real or self.path, *(p for _, p in self.links))

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
        return 0 if (self.camera and Path(name).suffix in CAMERA_FORMATS) or self.companions else 1


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


def resolve_folders(folders: Sequence[str]) -> list[str]:
    """Folders as the user named them (relative, with ~, through links), resolved."""
    return [os.path.realpath(os.path.expanduser(f)) for f in folders]


def in_folders(path: str, folders: Sequence[str]) -> bool:
    """Whether `path` lies in one of `folders` (both resolved by the caller)."""
    return any(path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _in(c: Candidate, folders: Sequence[str]) -> bool:
    return bool(folders) and any(in_folders(p, folders) for p in c.names)


# the share of a kept photo's copies (its identical twins aside) that differ from it by something
# added before the group says so: among the benchmark's 207 groups, the photos the rules kept that
# nothing was drawn on differed "with something added" from at most 45 % of their copies, the 16
# kept copies with a caption and a logo from 8 to 100 % (13 of them 70 % or more); the library of
# places: its 4 kept captioned copies 88-100 %, its clean photos kept at most 33 %
DRAWN_ON = 0.7
DRAWN_ON_WORDS = ("the photo kept and most of its copies differ by something drawn on one side (a caption, a logo):"
                  " compare them before trashing")


def drawn_on(changed: Sequence[float]) -> bool:
    """Whether most of a photo's copies (two at least; its identical twins left out) differ from it
    by something added (verify.py's `changed`), as they do from a copy with a caption or a logo
    drawn on it that the rules kept (re-saved, it is often the bigger file). Which side was drawn
    on is not known: an original whose copies all come from one captioned copy differs from them
    just as much (a reviewer's find; keeping another photo by this alone offered originals for
    the trash, and was undone), so the group only says it, for the user to look."""
    return len(changed) >= 2 and sum(c >= ADDED for c in changed) >= DRAWN_ON * len(changed)


def lossless(c: Candidate) -> bool:
    return Path(c.path).suffix.lower() in LOSSLESS_FORMATS


def preference(c: Candidate, rules: Sequence[str] = DEFAULT_RULES, reference: Sequence[str] = (),
               prefer: Sequence[str] = ()) -> tuple[float, ...]:
    """A sort key over a whole library, best to keep first: the order in which grouping tries
    photos as the centres of their groups, so that a group's centre is the photo `choose` keeps
    (but for pictures within SAME_PICTURE of each other, which `choose` tells apart by the next rule)."""
    def key(rule: str) -> float:
        if rule == "resolution":  # sizes within SAME_PICTURE of each other fall in one step
            return -float(np.floor(np.log(max(c.picture, 1.0)) / -np.log(SAME_PICTURE)))
        return _key(c, rule, c.picture)

    return (float(not _in(c, reference)), float(not c.chosen), float(not _in(c, prefer)), float(not c.companions),
            *(key(r) for r in rules))


def choose(members: Sequence[Candidate], rules: Sequence[str] = DEFAULT_RULES, reference: Sequence[str] = (),
           prefer: Sequence[str] = (), twins: Collection[int] = ()) -> tuple[Candidate, list[Candidate],
                                                                              list[Candidate]]:
    """(the photo to keep, the others that may go, the protected ones in reference folders).
    `reference` and `prefer` are resolved folders; `twins`, the ids of members with the same pixels.

    Order: a photo in a reference folder, then the user's choice, then a preferred folder, then
    a photo with its RAW file (the camera original), then the rules. Among photos proven
    identical (the same pixels up to re-encoding, seen at the pixel record's 384 px), bytes say
    little: a lossless export made from the camera's JPEG loses to it; else a lossless file wins
    (it holds every pixel its lossy twins hold: a scan's TIFF master over its JPEG), then the
    camera original, then the bigger file, not the smaller: identical at 384 px does not mean
    identical at full size (a JPEG saved again at quality 25 passes), and of two saves in one
    format the bigger holds more of the picture."""
    protected = [m for m in members if _in(m, reference)]
    pool = protected or list(members)
    best = max(c.picture for c in pool)

    def first(c: Candidate) -> tuple[bool, bool, bool]:
        return not c.chosen, not _in(c, prefer), not c.companions

    keep = min(pool, key=lambda c: (*first(c), *(_key(c, r, best) for r in rules), c.path))
    if keep.id in twins:
        same = [c for c in pool if c.id in twins and c.picture >= SAME_PICTURE * keep.picture
                and first(c) == first(keep)]
        # a lossless file without a camera beside the camera's lossy one was made from it (an
        # export); any other lossless one holds at least the pixels of its lossy twins (a scan's
        # TIFF master and its JPEG)
        camera_lossy = any(c.camera and not lossless(c) for c in same)
        keep = min(same, key=lambda c: (lossless(c) and not c.camera and camera_lossy, not lossless(c), c.origin,
                                        -c.size, c.date, len(c.path), c.path))
    others = [m for m in members if m is not keep and m not in protected]
    return keep, others, [p for p in protected if p is not keep]


def one_per_file(members: list[Candidate]) -> list[Candidate]:
    """A link and the file it points to are one photo: one candidate, the file itself (else the
    shortest name), with the others as its links."""
    by_file: dict[str, list[Candidate]] = {}
    for c in members:
        by_file.setdefault(c.real or c.path, []).append(c)
    out = []
    for real, names in by_file.items():
        if len(names) == 1:
            out.append(names[0])
            continue
        first = min(names, key=lambda c: (c.path != real, len(c.path), c.path))
        out.append(replace(first, chosen=any(c.chosen for c in names),
                           links=tuple((c.id, c.path) for c in names if c is not first)))
    return out
