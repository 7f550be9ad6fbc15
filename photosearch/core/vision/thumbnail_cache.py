"""On-disk thumbnails, in the freedesktop thumbnail layout file managers share.

A thumbnail is a PNG named by the md5 of the file's URI, carrying Thumb::URI and
Thumb::MTime so a stale one (the photo changed) is recognised and remade. Written
to a temporary file and renamed, so a half-written thumbnail is never read.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from PIL import Image, PngImagePlugin

from ..errors import ImageError
from ..fsutil import replacing
from ..library.paths import HOME_ENV
from .imageio import decode

SIZES = {"normal": 128, "large": 256, "x-large": 512}
# the spec's failure records: one per application, so another tool may still try
FAIL_DIR = "fail/photosearch-1"


def default_root(app_cache: Path) -> Path:
    """~/.cache/thumbnails on Linux (shared with file managers), else our own cache."""
    if sys.platform.startswith("linux") and not os.environ.get(HOME_ENV):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        return Path(base) / "thumbnails"
    return Path(app_cache) / "thumbnails"


def size_name(pixels: int) -> str:
    for name, px in SIZES.items():
        if pixels <= px:
            return name
    return "x-large"


def file_uri(path: str | Path) -> str:
    return Path(os.path.abspath(path)).as_uri()


def cache_path(root: Path, path: str | Path, pixels: int) -> Path:
    digest = hashlib.md5(file_uri(path).encode()).hexdigest()
    return Path(root) / size_name(pixels) / f"{digest}.png"


def _valid(thumb: Image.Image, uri: str, mtime: int) -> bool:
    info = getattr(thumb, "text", None) or thumb.info
    return info.get("Thumb::URI") == uri and info.get("Thumb::MTime") == str(mtime)


def load_or_make(path: str | Path, root: Path, pixels: int = 256) -> Image.Image:
    """An RGB thumbnail whose longer side is at most the size class of `pixels`.

    Raises ImageError (from decoding) if the photo cannot be read.
    """
    uri = file_uri(path)
    mtime = int(os.stat(path).st_mtime)
    cached = cache_path(root, path, pixels)
    for candidate in (cached, _fail_path(root, path)):
        try:
            with Image.open(candidate) as thumb:
                thumb.load()
                if _valid(thumb, uri, mtime):
                    if candidate != cached:  # failed before, and unchanged since: do not decode again
                        raise ImageError("this photo could not be read when its thumbnail was last made")
                    return thumb.convert("RGB")
        except (OSError, ValueError, SyntaxError):
            pass  # missing or unreadable: make it again
    limit = SIZES[size_name(pixels)]
    try:
        decoded = decode(path, min_side=limit)
    except ImageError:
        _record_failure(root, path, uri, mtime)
        raise
    img = decoded.image
    img.thumbnail((limit, limit), Image.Resampling.BILINEAR, reducing_gap=2.0)
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Thumb::URI", uri)
    meta.add_text("Thumb::MTime", str(mtime))
    meta.add_text("Thumb::Image::Width", str(decoded.width))
    meta.add_text("Thumb::Image::Height", str(decoded.height))
    meta.add_text("Software", "photosearch")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replacing(cached) as tmp:
            img.save(tmp, "PNG", pnginfo=meta, compress_level=1)
    except OSError:
        pass  # a read-only or full cache costs speed, never the thumbnail
    return img


def _fail_path(root: Path, path: str | Path) -> Path:
    return Path(root) / FAIL_DIR / f"{hashlib.md5(file_uri(path).encode()).hexdigest()}.png"


def _record_failure(root: Path, path: str | Path, uri: str, mtime: int) -> None:
    """The spec's failure entry: a 1x1 PNG with the URI and mtime, so an unchanged file that
    cannot be thumbnailed is not decoded again on every view."""
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Thumb::URI", uri)
    meta.add_text("Thumb::MTime", str(mtime))
    meta.add_text("Software", "photosearch")
    target = _fail_path(root, path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replacing(target) as tmp:
            Image.new("RGBA", (1, 1)).save(tmp, "PNG", pnginfo=meta)
    except OSError:
        pass
