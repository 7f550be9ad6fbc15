"""Pixel records: the picture itself, small, kept so that a copy can be proven in pixels.

The model's vector, its regions and the glances all measure "the same subject": built to ignore
viewpoint, moment and light, they cannot tell an edited copy from another shot of the scene
(issue 22). Verifying a copy needs the pixels of both photos; decoding them again at grouping time
would cost more than indexing did, so indexing keeps each photo's picture at SIDE pixels on its
long side, grey, JPEG-compressed (about 15 KB), with its content box (flat borders stripped,
from the colour image). duplicates/verify.py aligns two records and compares them.

Why SIDE = 384: the smallest size at which the real bursts of `../shared/data/photos/scene_pairs`
(a rubber whale nudged by a few pixels, a rendered stereo pair) still show their motion above the
noise a re-encode or a resize leaves (docs/duplicates.md has the measurements at 256 and 384).
A photo decoded smaller (a HEIC's 320 px thumbnail) keeps a record of its own size.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from .imageio import Need

SIDE = 384
# what a record is made from: SIDE on the long side when the decoded photo has it; down to 320
# (the thumbnail an iPhone writes into a HEIC, which indexing reads instead of 12 MP: issue 21)
# the verifier works at the record's own size, a little less sensitive to motion
NEED = Need(long=320)
QUALITY = 90  # visually lossless for structure; the verifier's noise floor was measured with it
_MAGIC = b"PX2"
# magic, width, height, content box (left, top, right, bottom), the photo's own width and height
_HEADER = struct.Struct("<3sHHHHHHHH")


@dataclass(frozen=True)
class Pixels:
    grey: np.ndarray  # [h, w] uint8
    box: tuple[int, int, int, int]  # the picture inside flat borders, in these pixels
    full: tuple[int, int] = (0, 0)  # the photo's own size (how much detail it holds); 0: the record's
    # what a comparison works out from this record alone, kept while the record is (a group's
    # centre is compared with every member)
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def width(self) -> int:
        return int(self.grey.shape[1])

    @property
    def height(self) -> int:
        return int(self.grey.shape[0])

    @property
    def detail(self) -> float:
        """The photo's pixels per pixel of this record (along a side)."""
        return max(self.full[0] / max(self.width, 1), 1.0) if self.full[0] else 1.0


def pixels_of(img: Image.Image, box: tuple[int, int, int, int] | None = None,
              full: tuple[int, int] | None = None) -> bytes:
    """The record of a decoded (oriented) photo; `box` is its content box in the image's pixels
    (glance.content_box), the whole image when None; `full`, the photo's own size when the
    decoded image is smaller (JPEG draft, a HEIC thumbnail)."""
    grey = img.convert("L")
    scale = min(1.0, SIDE / max(grey.size))
    if scale < 1.0:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                           Image.Resampling.BOX)
    sx, sy = grey.width / max(img.width, 1), grey.height / max(img.height, 1)
    left, top, right, bottom = box if box is not None else (0, 0, img.width, img.height)
    rb = (int(left * sx), int(top * sy), min(grey.width, round(right * sx)), min(grey.height, round(bottom * sy)))
    if rb[2] - rb[0] < 2 or rb[3] - rb[1] < 2:
        rb = (0, 0, grey.width, grey.height)
    buf = io.BytesIO()
    grey.save(buf, "JPEG", quality=QUALITY)
    fw, fh = full or img.size
    return _HEADER.pack(_MAGIC, grey.width, grey.height, *rb, min(fw, 65535), min(fh, 65535)) + buf.getvalue()


def load_pixels(blob: bytes) -> Pixels:
    """The record back as pixels; ValueError for anything that is not one (a damaged row)."""
    if len(blob) < _HEADER.size:
        raise ValueError("not a pixel record")
    magic, w, h, left, top, right, bottom, fw, fh = _HEADER.unpack_from(blob)
    if magic != _MAGIC or not (0 < w <= 4 * SIDE and 0 < h <= 4 * SIDE):
        raise ValueError("not a pixel record")
    try:
        with Image.open(io.BytesIO(blob[_HEADER.size:])) as im:
            if im.format != "JPEG" or im.size != (w, h):
                raise ValueError("a damaged pixel record")
            grey = np.asarray(im.convert("L"), np.uint8)
    except (OSError, SyntaxError) as exc:  # what Pillow raises for a truncated or corrupt stream
        raise ValueError("a damaged pixel record") from exc
    box = (min(left, w - 1), min(top, h - 1), max(min(right, w), left + 1), max(min(bottom, h), top + 1))
    return Pixels(grey, box, (fw, fh))
