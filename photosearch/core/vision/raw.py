"""Camera RAW files through LibRaw (rawpy): the embedded preview JPEG when it is big enough
(it decodes like any JPEG, with draft mode), else a half-size demosaic. The RAW's own
orientation is applied either way.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef",
                            ".srw", ".x3f"})
# A preview smaller than this (when no size is asked for) is a thumbnail, not a picture
PREVIEW_MIN_SIDE = 512
# LibRaw's flip code -> EXIF orientation
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


def is_raw_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in RAW_EXTENSIONS


def available() -> bool:
    try:
        import rawpy  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class RawPicture:
    """What a RAW file gives: encoded preview bytes to decode like a JPEG, or demosaiced pixels."""

    jpeg: bytes | None
    pixels: Image.Image | None
    orientation: int  # EXIF-style, to apply to the preview (a demosaic is already upright)
    width: int  # full size, upright
    height: int
    used_preview: bool


def read_raw(data: bytes, min_side: int | None, max_pixels: int) -> RawPicture:
    """Open a RAW from its bytes. Raises ValueError (with LibRaw's reason) if it cannot."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            if sizes.raw_width * sizes.raw_height > max_pixels:
                raise ValueError(f"RAW image is too large ({sizes.raw_width}x{sizes.raw_height} pixels)")
            orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
            width, height = sizes.width, sizes.height
            if orientation in (6, 8):
                width, height = height, width
            preview = _preview(raw)
            need = min_side or PREVIEW_MIN_SIDE
            if preview is not None:
                kind, payload, side = preview
                if side >= need:
                    if kind == "jpeg":
                        return RawPicture(payload, None, orientation, width, height, True)
                    return RawPicture(None, _bitmap(payload, orientation), 1, width, height, True)
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
            return RawPicture(None, Image.fromarray(np.ascontiguousarray(rgb), "RGB"), 1, width, height, False)
    except rawpy.LibRawError as exc:
        raise ValueError(f"cannot read this RAW file ({type(exc).__name__.removeprefix('LibRaw')})") from exc


def _preview(raw: Any) -> tuple[str, Any, int] | None:
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        with Image.open(io.BytesIO(thumb.data)) as img:
            side = min(img.size)
        return "jpeg", bytes(thumb.data), side
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        return "bitmap", thumb.data, min(thumb.data.shape[:2])
    return None


def _bitmap(array: Any, orientation: int) -> Image.Image:
    from .imageio import transpose

    return transpose(Image.fromarray(np.ascontiguousarray(array), "RGB"), orientation)
