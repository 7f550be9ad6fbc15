"""Photos as people have them: HEIC, AVIF, camera RAW, and RAW+JPEG pairs as one photo."""

import io

import numpy as np
import pytest
from PIL import Image

from photosearch.core.pipeline.scanner import ScanOptions, walk
from photosearch.core.vision import imageio, raw
from tests.helpers import make_photo, save_dng, save_jpeg


def _halves(size=(320, 240)):
    """Red on the left, blue on the right: orientation is easy to check."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2, 0] = 220
    rgb[:, w // 2:, 2] = 220
    return rgb


@pytest.mark.parametrize("fmt, ext", [("HEIF", ".heic"), ("AVIF", ".avif")])
def test_heic_and_avif_are_read(tmp_path, fmt, ext):
    assert ext in imageio.IMAGE_EXTENSIONS
    path = tmp_path / f"photo{ext}"
    Image.fromarray(_halves()).save(path, fmt, quality=90)
    decoded = imageio.decode(path)
    assert (decoded.width, decoded.height) == (320, 240)
    left, right = decoded.image.getpixel((40, 120)), decoded.image.getpixel((280, 120))
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0]


def test_heic_orientation_is_applied(tmp_path):
    path = tmp_path / "turned.heic"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_halves()).save(path, "HEIF", exif=exif.tobytes())
    decoded = imageio.decode(path)
    assert (decoded.width, decoded.height) in ((240, 320), (320, 240))  # libheif may apply it itself
    assert decoded.image.size == (decoded.width, decoded.height)


def test_a_dng_is_demosaiced_and_its_orientation_applied(tmp_path):
    assert ".dng" in imageio.IMAGE_EXTENSIONS and raw.available()
    upright = imageio.decode(save_dng(_halves((640, 480)), tmp_path / "a.dng"))
    assert upright.image.size == (320, 240) and (upright.width, upright.height) == (640, 480)  # half size
    left, right = upright.image.getpixel((40, 120)), upright.image.getpixel((280, 120))
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0]
    turned = imageio.decode(save_dng(_halves((640, 480)), tmp_path / "b.dng", orientation=6))
    assert turned.image.size == (240, 320) and (turned.width, turned.height) == (480, 640)
    top, bottom = turned.image.getpixel((120, 40)), turned.image.getpixel((120, 280))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # 90 degrees clockwise: left went up


def test_a_raw_preview_is_used_when_big_enough(tmp_path, monkeypatch):
    jpeg = io.BytesIO()
    make_photo(3, (1024, 768)).save(jpeg, "JPEG")
    monkeypatch.setattr(raw, "_preview", lambda r: ("jpeg", jpeg.getvalue(), 768))
    decoded = imageio.decode(save_dng(_halves((640, 480)), tmp_path / "p.dng", orientation=3), min_side=256)
    ref = imageio.decode(jpeg.getvalue(), min_side=256).image.transpose(Image.Transpose.ROTATE_180)
    assert decoded.image.size == ref.size
    assert np.abs(np.asarray(decoded.image, np.int16) - np.asarray(ref, np.int16)).mean() < 1
    # a preview smaller than what is asked for: the RAW is demosaiced instead
    monkeypatch.setattr(raw, "_preview", lambda r: ("jpeg", jpeg.getvalue(), 100))
    assert imageio.decode(tmp_path / "p.dng", min_side=256).image.size == (320, 240)


def test_a_damaged_raw_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.nef"
    bad.write_bytes(b"II*\0" + bytes(1000))
    with pytest.raises(imageio.ImageError, match="RAW"):
        imageio.decode(bad)


def test_raw_and_jpeg_of_one_shot_are_one_photo(tmp_path):
    save_jpeg(make_photo(1), tmp_path / "IMG_0001.JPG")
    save_dng(_halves(), tmp_path / "IMG_0001.dng")
    save_dng(_halves(), tmp_path / "IMG_0002.dng")  # a RAW alone is a photo
    companions: dict[str, list[str]] = {}
    found = walk([str(tmp_path)], ScanOptions(), [], companions=companions)
    assert sorted(p.rsplit("/", 1)[1] for p in found) == ["IMG_0001.JPG", "IMG_0002.dng"]
    assert companions == {str(tmp_path / "IMG_0001.JPG"): [str(tmp_path / "IMG_0001.dng")]}


def test_videos_sidecars_and_tool_folders_are_skipped_quietly(tmp_path):
    save_jpeg(make_photo(1), tmp_path / "a.jpg")
    for name in ("clip.mp4", "clip.MOV", "a.jpg.xmp", "IMG_1.AAE", "IMG_1.THM", ".DS_Store"):
        (tmp_path / name).write_bytes(b"not a photo")
    for tool in ("@eaDir", ".@__thumb", ".thumbnails", "#recycle", ".Trash-1000"):
        (tmp_path / tool).mkdir()
        save_jpeg(make_photo(2), tmp_path / tool / "thumb.jpg")
    problems: list = []
    found = walk([str(tmp_path)], ScanOptions(skip_hidden=False), problems)
    assert list(found) == [str(tmp_path / "a.jpg")] and problems == []
