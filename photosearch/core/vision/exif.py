"""What a photo's EXIF says about where it came from: when it was taken and by which camera.

Read from the header only (no pixels), at indexing time, for the duplicates' keep rules
("oldest capture date", "the camera original over a re-encode or a screenshot")."""

from __future__ import annotations

import datetime
from pathlib import Path

from PIL import Image

_EXIF_IFD = 0x8769
_DATE_ORIGINAL = 0x9003
_DATE_TIME = 0x0132
_MAKE, _MODEL = 0x010F, 0x0110


def _date(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()  # camera clocks have no zone


def facts(img: Image.Image) -> tuple[float | None, str]:
    """(capture time as seconds since 1970 in the camera's local clock, "Make Model" or "")."""
    try:
        exif = img.getexif()
        taken = _date(exif.get_ifd(_EXIF_IFD).get(_DATE_ORIGINAL)) or _date(exif.get(_DATE_TIME))
        camera = " ".join(str(exif.get(t, "")).strip().rstrip("\x00") for t in (_MAKE, _MODEL)).strip()
    except Exception:  # corrupt EXIF: nothing known, the photo is still indexed
        return None, ""
    return taken, camera[:100]


def read_facts(path: str | Path) -> tuple[float | None, str]:
    try:
        with Image.open(path) as img:
            return facts(img)
    except Exception:
        return None, ""
