import io

import numpy as np
import pytest
from PIL import Image

from photosearch.core.errors import ImageError
from photosearch.core.vision import imageio
from tests.helpers import make_photo, oriented_copy, save_jpeg


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(tmp_path, orientation):
    original = make_photo(3, (96, 64))
    path = save_jpeg(oriented_copy(original, orientation), tmp_path / "o.jpg", quality=95,
                     orientation=orientation)
    decoded = imageio.decode(path)
    assert decoded.image.size == (96, 64)
    assert (decoded.width, decoded.height) == (96, 64)
    diff = np.abs(np.asarray(decoded.image, np.int16) - np.asarray(original, np.int16)).mean()
    assert diff < 6, f"orientation {orientation} not undone (mean abs diff {diff:.1f})"


def test_jpeg_draft_decodes_large_photo_at_reduced_scale(tmp_path):
    path = save_jpeg(make_photo(1, (2400, 1600)), tmp_path / "big.jpg")
    decoded = imageio.decode(path, min_side=256)
    assert (decoded.width, decoded.height) == (2400, 1600)
    assert min(decoded.image.size) >= 256
    assert decoded.image.size[0] <= 1200  # 1/2 scale or smaller, never the full image


def test_min_side_respects_rotated_photos(tmp_path):
    img = make_photo(2, (2400, 1600))
    path = save_jpeg(oriented_copy(img, 6), tmp_path / "rot.jpg", orientation=6)
    decoded = imageio.decode(path, min_side=300)
    assert (decoded.width, decoded.height) == (2400, 1600)
    assert decoded.image.size[0] > decoded.image.size[1]  # stored portrait, shown landscape
    assert min(decoded.image.size) >= 300


def test_modes_become_rgb():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    out = imageio.decode(_png(rgba)).image
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)  # composited on white

    half = Image.new("LA", (8, 8), (0, 128))
    px = imageio.decode(_png(half)).image.getpixel((0, 0))
    assert 120 <= px[0] <= 135  # half-transparent black over white is mid grey

    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.info["transparency"] = 0
    assert imageio.decode(_png(pal, transparency=0)).image.getpixel((0, 0)) == (10, 200, 30)

    sixteen = Image.fromarray(np.full((8, 8), 65535 // 2, np.uint16))
    assert sixteen.mode.startswith("I;16")
    px = imageio.decode(_png(sixteen)).image.getpixel((0, 0))
    assert 125 <= px[0] <= 130  # scaled, not clipped to 255

    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    buf = io.BytesIO()
    cmyk.save(buf, "JPEG")
    r, g, b = imageio.decode(buf.getvalue()).image.getpixel((0, 0))
    assert r > 200 and g < 60 and b < 60


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    r, g, b = imageio.decode(buf.getvalue()).image.getpixel((4, 4))
    assert r > 200 and b < 50


@pytest.mark.parametrize("data, reason", [
    (b"", "not an image"),
    (b"\x00" * 100, "not an image"),
    (b"GIF89a" + b"\x01" * 20, ""),
])
def test_garbage_raises_image_error(data, reason):
    with pytest.raises(ImageError) as err:
        imageio.decode(data)
    assert reason in str(err.value)


def test_truncated_jpeg_raises_image_error(tmp_path):
    data = (save_jpeg(make_photo(5), tmp_path / "t.jpg")).read_bytes()
    with pytest.raises(ImageError):
        imageio.decode(data[: len(data) // 2])


def test_decompression_bomb_refused_before_decoding():
    # a PNG header declaring 100000 x 100000 pixels
    img = Image.new("L", (1, 1))
    data = bytearray(_png(img))
    # IHDR width/height live at bytes 16..24; the CRC is not checked before the size is
    data[16:24] = (100000).to_bytes(4, "big") + (100000).to_bytes(4, "big")
    with pytest.raises(ImageError) as err:
        imageio.decode(bytes(data))
    assert "too large" in str(err.value) or "not an image" in str(err.value)


def test_corrupt_exif_does_not_lose_the_image(tmp_path):
    path = tmp_path / "badexif.jpg"
    make_photo(7, (64, 48)).save(path, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    assert imageio.decode(path).image.size == (64, 48)
