"""Decode photos fast and safely.

A model wants ~224 pixels; a camera JPEG has 4000. JPEG draft mode lets libjpeg
decode at 1/2, 1/4 or 1/8 scale directly, which is most of the indexing speed.
Every Pillow mode ends up as 8-bit RGB, transparency composited on white, EXIF
orientation applied, and hostile files are refused before they allocate memory.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ..errors import ImageError
from . import avif, raw
from .exif import facts as exif_facts

Source = str | Path | bytes | BinaryIO  # a path, encoded bytes, or an open file

# Our own, explicit limit: above it a file is refused whatever its format.
MAX_PIXELS = 200_000_000
# Pillow's own bomb check is a warning below 2x its limit; ours runs first, so
# raise Pillow's to keep it only as a backstop.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
)


def _formats() -> tuple[frozenset[str], dict[str, str]]:
    """What this installation reads beyond the basics, and why not when it does not."""
    extensions, missing = set(IMAGE_EXTENSIONS), {}
    try:  # iPhone photos; a dependency, but a broken install must not stop the rest
        import pillow_heif

        pillow_heif.register_heif_opener()
        extensions |= {".heic", ".heif", ".hif"}
    except ImportError as exc:
        missing["HEIC/HEIF"] = f"pillow-heif cannot be loaded ({exc})"
    from PIL import features

    if features.check("avif"):  # Pillow >= 11.2 wheels carry libavif
        extensions.add(".avif")
    else:
        missing["AVIF"] = "this Pillow was built without AVIF support"
    if raw.available():
        extensions |= raw.RAW_EXTENSIONS
    else:
        missing["RAW"] = "rawpy (LibRaw) is not installed"
    return frozenset(extensions), missing


IMAGE_EXTENSIONS, UNSUPPORTED = _formats()

_SWAPS_AXES = {5, 6, 7, 8}


@dataclass(frozen=True)
class Need:
    """The smallest picture a use of a photo's pixels works from: its shorter side at least
    `short` pixels and its longer side at least `long` (0: no need). Decoding may hand back
    anything that meets it (JPEG draft, a box reduction, an embedded thumbnail)."""

    short: int = 0
    long: int = 0

    def __or__(self, other: Need) -> Need:
        return Need(max(self.short, other.short), max(self.long, other.long))

    def met_by(self, width: int, height: int) -> bool:
        return min(width, height) >= self.short and max(width, height) >= self.long

    def scale(self, width: int, height: int) -> float:
        """The factor that brings a picture of this size down to the smallest that meets the need."""
        return max(self.short / max(min(width, height), 1), self.long / max(width, height, 1))

    def reduction(self, width: int, height: int) -> int:
        """The integer factor a picture can be box-reduced by and still meet the need twice over."""
        factors = [min(width, height) // (2 * self.short)] if self.short else []
        if self.long:
            factors.append(max(width, height) // (2 * self.long))
        return min(factors) if factors else 1


@dataclass
class Decoded:
    image: Image.Image  # RGB, oriented, possibly reduced
    width: int  # full-size dimensions, after orientation
    height: int
    taken: float | None = None  # EXIF capture time (exif.py)
    camera: str = ""  # EXIF "Make Model"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format photosearch cannot read"
    if isinstance(exc, Image.DecompressionBombError):
        return "image is too large (possible decompression bomb)"
    text = str(exc).strip() or type(exc).__name__
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return "file is truncated"
    return text.splitlines()[0][:200]


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow's own conversion of 16-bit and float data clips; scale instead.
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if mode == "F" and arr.max() <= 1.0:
            hi = 1.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    return img.convert("RGB")


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
        return value if isinstance(value, int) and 1 <= value <= 8 else 1
    except Exception:  # corrupt EXIF must not cost us the image
        return 1


def open_image(source: Source) -> Image.Image:
    """Open (not decode) a path, bytes or file object, refusing oversized images."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = io.BytesIO(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
    except Exception as exc:
        raise ImageError(_describe(exc)) from exc
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError("image has no pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(f"image is too large ({w}x{h} pixels; the limit is {MAX_PIXELS // 1_000_000} MP)")
    return img


def decode(source: Source, min_side: int | None = None, name: str | None = None, *,
           need: Need | None = None, thumbnail: bool = False) -> Decoded:
    """Decode an image as RGB with its EXIF orientation applied.

    With `min_side` (or a `need`), the decoder may return a reduced image whose shorter side is
    still at least `min_side` (JPEG draft mode, or a cheap box reduction), which is all a model or
    a thumbnail needs. `thumbnail`: a smaller copy of the picture that the file carries (a HEIF or
    AVIF thumbnail) may be returned instead when it meets the need: for indexing, never for what
    a person looks at. `name` (the file's name, when `source` is bytes) tells a camera RAW file,
    which is read through LibRaw.
    """
    need = need or Need(short=min_side or 0)
    name = name or (str(source) if isinstance(source, (str, Path)) else None)
    if name is not None and raw.is_raw_name(name):
        return _decode_raw(source, need)
    img = open_image(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)
            # HEIF: libheif applies irot/imir to the primary image and to each thumbnail, and
            # pillow-heif resets the EXIF orientation to 1. AVIF: Pillow gives irot/imir as the
            # EXIF orientation, and a thumbnail is decoded unturned and turned by it here. Only
            # thumbnails turned like their primary are taken: both ways give the same picture
            orientation = _orientation(img)
            taken, camera = exif_facts(img)
            w, h = img.size
            if orientation in _SWAPS_AXES:
                w, h = h, w
            if need.short or need.long:
                wanted = _wanted_size(img.size, need)
                if img.format == "JPEG" and wanted != img.size:
                    img.draft("RGB", wanted)
                elif thumbnail and img.format == "HEIF":
                    # pillow-heif takes the smallest thumbnail at least this big that is a scaled
                    # copy of the primary (aspect, crop, rotation, mirroring, colour profile)
                    img.draft(img.mode, wanted)
                elif thumbnail and img.format == "AVIF":
                    img = _avif_thumbnail(source, wanted) or img  # avif.py: the same rule
            img.load()
            factor = need.reduction(*img.size)
            if factor >= 2:
                img = img.reduce(factor)
            img = _to_rgb(img)
            if orientation != 1:
                img = transpose(img, orientation)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(_describe(exc)) from exc
    return Decoded(img, w, h, taken, camera)


def _avif_thumbnail(source: Source, wanted: tuple[int, int]) -> Image.Image | None:
    if isinstance(source, (str, Path)):
        data = read_bytes(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        return None
    coded = avif.thumbnail(data, wanted)
    if coded is None:
        return None
    try:
        small = Image.open(io.BytesIO(coded))
        small.load()
        return small
    except Exception:  # a thumbnail the decoder refuses: the primary image instead
        return None


def _wanted_size(size: tuple[int, int], need: Need) -> tuple[int, int]:
    """The smallest size (as stored) that meets the need, never more than the picture itself;
    a side within half a pixel of the need counts (a thumbnail is rounded to whole pixels)."""
    scale = need.scale(*size)
    if scale >= 1:
        return size
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _decode_raw(source: Source, need: Need) -> Decoded:
    if isinstance(source, (str, Path)):
        data = read_bytes(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = source.read()
    try:
        picture = raw.read_raw(data, need.short or None, MAX_PIXELS)
    except ImportError as exc:
        raise ImageError("RAW files need rawpy (LibRaw): pip install rawpy") from exc
    except (ValueError, OSError, MemoryError) as exc:
        raise ImageError(_describe(exc)) from exc
    if picture.jpeg is not None:
        preview = decode(picture.jpeg, need=need)
        image = preview.image
        # a preview that carries its own EXIF orientation was turned by decode already
        if _orientation(open_image(picture.jpeg)) == 1:
            image = transpose(image, picture.orientation)
        return Decoded(image, picture.width, picture.height)
    assert picture.pixels is not None
    image = picture.pixels
    factor = need.reduction(*image.size)
    if factor >= 2:
        image = image.reduce(factor)
    return Decoded(image, picture.width, picture.height)


def transpose(img: Image.Image, orientation: int) -> Image.Image:
    """Turn an image upright according to an EXIF orientation value."""
    for op in _TRANSPOSE.get(orientation, []):
        img = img.transpose(op)
    return img


def describe_error(exc: BaseException) -> str:
    """A short reason for a failure, for the catalog and for messages."""
    return str(exc) if isinstance(exc, ImageError) else _describe(exc)


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def read_bytes(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {_describe(exc)}") from exc
