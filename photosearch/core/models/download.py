"""Verified, resumable downloads: the only network access photosearch ever makes.

The file is streamed to `<name>.part` beside its destination; an interrupted
download resumes with an HTTP Range request; the file is moved into place only if
its size and sha256 match, and deleted if they do not. Proxies come from the usual
environment variables (urllib's default). Only https is allowed, except to this
machine's loopback address (which is how the tests serve files).
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from ..errors import ModelError, PhotosearchError

CHUNK = 1 << 20
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class DownloadCancelled(PhotosearchError):
    """The user stopped a download; what was fetched is kept for resuming."""


def check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK):
        return
    raise ModelError(f"refusing to download over {parsed.scheme or 'an unknown scheme'}: only https is used")


def _hash_file(path: Path, h: hashlib._Hash) -> int:
    n = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
            n += len(block)
    return n


def download(
    url: str,
    dest: Path,
    *,
    sha256: str,
    size: int | None,
    on_progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch `url` to `dest`, verified. Raises ModelError (or DownloadCancelled)."""
    check_url(url)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    opener = opener or urllib.request.build_opener()  # honours http(s)_proxy / no_proxy
    h = hashlib.sha256()
    have = _hash_file(part, h) if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        h, have = hashlib.sha256(), 0
    if size is not None and have == size:
        return _finish(part, dest, h, have, sha256, size)

    request = urllib.request.Request(url, headers={"User-Agent": "photosearch"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch
            return _finish(part, dest, h, have, sha256, size)
        raise ModelError(f"download failed: HTTP {exc.code} {exc.reason} ({url})") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"cannot reach {urlparse(url).hostname}: {reason} (offline?)") from exc

    with response:
        if have and response.status != 206:
            h, have = hashlib.sha256(), 0  # the server ignored the range: start over
        mode = "ab" if have else "wb"
        total = size
        if total is None:
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
        try:
            with open(part, mode) as f:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled("download stopped; run it again to resume")
                    try:
                        block = response.read(CHUNK)
                    except OSError as exc:
                        raise ModelError(f"download interrupted: {exc}; run it again to resume") from exc
                    if not block:
                        break
                    have += len(block)
                    if size is not None and have > size:
                        f.close()
                        part.unlink(missing_ok=True)
                        raise ModelError(f"download is larger than the expected {size:,} bytes; deleted it")
                    f.write(block)
                    h.update(block)
                    if on_progress:
                        on_progress(have, total)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise ModelError(f"cannot save the download to {part.parent}: {exc.strerror or exc}") from exc
    if size is not None and have < size:
        raise ModelError(f"download incomplete ({have:,} of {size:,} bytes); run it again to resume")
    return _finish(part, dest, h, have, sha256, size)


def _finish(part: Path, dest: Path, h: hashlib._Hash, have: int, sha256: str, size: int | None) -> Path:
    digest = h.hexdigest()
    if (size is not None and have != size) or digest != sha256:
        part.unlink(missing_ok=True)
        raise ModelError(
            f"the downloaded file does not match its checksum (got {digest[:12]}…, expected {sha256[:12]}…); "
            "it was deleted"
        )
    os.replace(part, dest)
    return dest
