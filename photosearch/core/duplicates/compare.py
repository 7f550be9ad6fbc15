"""Two photos side by side: their level and the evidence for it (where one picture sits in the
other, the matched points, where the aligned pictures agree, where content moved or was added),
in words and as maps the app draws, plus what differs (resolution, file size, date, format).
Either photo may be outside any library; two photos of an open library are compared from what
the library stored, so that Compare and the Duplicates view say the same thing."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..errors import ImageError
from ..library.libraries import Library
from ..vision.descriptor import Descriptor
from ..vision.glance import content_box, glance_match, glance_of
from ..vision.imageio import Decoded, Need, decode, open_image
from ..vision.pixels import SIDE, Pixels, load_pixels, pixels_of
from .levels import level_of
from .pairs import GLANCE_MATCH, score_of, score_pairs
from .residual import AGREES, CHANGED, MOVED
from .verdicts import goes_first, pixel_records
from .verify import DIFFERENT, Evidence, verify


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


# colours of the evidence maps (RGBA): agrees, moved, changed
MAP_COLOURS = {AGREES: (40, 200, 80, 110), MOVED: (230, 40, 40, 170), CHANGED: (250, 200, 0, 150)}


@dataclass
class Comparison:
    score: float
    cosine: float
    level: str
    a: PhotoFacts
    b: PhotoFacts
    evidence: Evidence = field(default_factory=lambda: Evidence(DIFFERENT, ""))
    # the evidence drawn over each photo, at its pixel record's size (RGBA): green where the two
    # pictures agree, red where content moved, yellow where content was added or is missing
    map_a: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 4), np.uint8))
    map_b: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 4), np.uint8))
    # matched points as fractions of each photo ([K, 4]: ax, ay, bx, by), and the outline of the
    # other picture inside each photo (4 corners, fractions)
    matches: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    outline_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    outline_b: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    images: tuple[Image.Image, ...] = ()  # the two photos as decoded (for showing them)
    whole_picture: bool = False  # the glances match: the whole picture, perhaps turned or framed

    def to_dict(self) -> dict[str, Any]:
        """The JSON `photosearch compare --json` prints (an interface: keep its keys)."""
        differs = {}
        for key in ("width", "height", "size", "modified", "format"):
            x, y = getattr(self.a, key), getattr(self.b, key)
            if x != y:
                differs[key] = [x, y]
        ev = self.evidence
        return {"score": round(self.score, 4), "level": self.level, "cosine": round(self.cosine, 4),
                "whole_picture": self.whole_picture, "a": self.a.__dict__, "b": self.b.__dict__, "differs": differs,
                "evidence": {"pixels": ev.name, "reason": ev.reason, "matched_points": len(self.matches),
                             **{k: round(v, 3) for k, v in ev.facts.items()}}}


def _stored(library: Library | None, paths: tuple[str, str]) -> tuple[list[int], dict[int, Pixels]] | None:
    """The two photos' ids and pixel records when the library holds both, unchanged."""
    if library is None or library.catalog.outdated is not None:
        return None  # an older catalog read as it is: the photos are compared from their files
    ids = []
    for path in paths:
        photo = library.catalog.photo_by_path(path)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if photo is None or photo.status != 1 or photo.size != st.st_size or photo.mtime_ns != st.st_mtime_ns:
            return None
        ids.append(photo.id)
    records = pixel_records(library, ids)
    return (ids, records) if len(records) == 2 else None


def compare_photos(descriptor: Descriptor, a: str, b: str, min_side: int = 0,
                   library: Library | None = None) -> Comparison:
    """`min_side`: decode at least this large (a viewer's size); each photo is decoded once."""
    decoded = [decode(p, need=Need(short=max(descriptor.min_side, min_side), long=SIDE)) for p in (a, b)]
    fa, fb = PhotoFacts.of(a, decoded[0]), PhotoFacts.of(b, decoded[1])
    images = [d.image for d in decoded]
    stored = _stored(library, (a, b))
    boxes = [content_box(im) for im in images]
    blobs: list[bytes | None] = [None, None]
    if stored is not None and library is not None:
        ids, records = stored
        score, cosine = score_of(library, [(ids[0], ids[1])]).get((ids[0], ids[1]), (0.0, 0.0))
        pa, pb = records[ids[0]], records[ids[1]]
    else:
        out = descriptor.run([descriptor.prepare(im) for im in images])
        cosine = float(np.dot(out.vectors[0], out.vectors[1]))
        if out.regions:
            blobs = [r + glance_of(im, box) for r, im, box in zip(out.regions, images, boxes)]
        score = float(score_pairs(np.array([cosine]), [blobs[0]], [blobs[1]])[0])
        pa, pb = (load_pixels(pixels_of(d.image, box, (d.width, d.height))) for d, box in zip(decoded, boxes))
    # looked at from the photo a library's verification would look from: one verdict, whatever
    # the order the user gave
    swap = not goes_first(pa, pb, (stored[0][0], stored[0][1]) if stored is not None else None)
    evidence = verify(pb, pa) if swap else verify(pa, pb)
    same_bytes = fa.size == fb.size and Path(a).read_bytes() == Path(b).read_bytes()
    level = level_of(evidence.verdict, score, (decoded[0].taken, decoded[1].taken),
                     (decoded[0].camera, decoded[1].camera), same_bytes)
    result = Comparison(score, cosine, level, fa, fb, evidence, images=(images[0], images[1]))
    result.whole_picture = glance_match(*(glance_of(im, box) for im, box in zip(images, boxes))) >= GLANCE_MATCH
    if swap:
        _draw(result, pb, pa)
        result.map_a, result.map_b = result.map_b, result.map_a
        result.outline_a, result.outline_b = result.outline_b, result.outline_a
        result.matches = result.matches[:, [2, 3, 0, 1]]
    else:
        _draw(result, pa, pb)
    return result


def _draw(result: Comparison, pa: Pixels, pb: Pixels) -> None:
    """The evidence as maps over each photo, matched points and outlines, in fractions."""
    ev = result.evidence
    r, al = ev.residual, ev.alignment
    if r is None or al is None:
        return
    ny, nx = r.blocks.shape
    colours = np.zeros((ny, nx, 4), np.uint8)
    for code, rgba in MAP_COLOURS.items():
        colours[r.blocks == code] = rgba
    frame = cv2.resize(colours, (nx * r.block, ny * r.block), interpolation=cv2.INTER_NEAREST)
    for p, to, attr in ((pa, r.frame_to_a, "map_a"), (pb, r.frame_to_b, "map_b")):
        setattr(result, attr, cv2.warpAffine(frame, to, (p.width, p.height), flags=cv2.INTER_NEAREST,
                                             borderValue=(0, 0, 0, 0)))
    m = r.refined  # B's record pixels -> A's
    if len(al.matches):
        k = al.matches
        result.matches = np.stack([k[:, 0] / pa.width, k[:, 1] / pa.height, k[:, 2] / pb.width,
                                   k[:, 3] / pb.height], 1).astype(np.float32)

    def outline(p: Pixels, onto: np.ndarray, q: Pixels) -> np.ndarray:
        left, top, right, bottom = p.box
        c = np.array([[left, top, 1], [right, top, 1], [right, bottom, 1], [left, bottom, 1]], np.float64) @ onto.T
        return (c / [q.width, q.height]).astype(np.float32)

    result.outline_a = outline(pb, m, pa)
    result.outline_b = outline(pa, np.asarray(cv2.invertAffineTransform(m)), pb)


def compare(descriptor: Descriptor, a: str, b: str, library: Library | None = None) -> dict[str, Any]:
    return compare_photos(descriptor, a, b, library=library).to_dict()
