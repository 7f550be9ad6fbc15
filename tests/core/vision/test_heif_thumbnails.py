"""Indexing reads a HEIC from the thumbnail it carries when that is big enough for what indexing
needs (indexer.indexing_need), else from its primary image; both turned the same way."""

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from photosearch.core.pipeline import indexer
from photosearch.core.vision import imageio
from photosearch.core.vision.descriptor import DEFAULT, Descriptor
from photosearch.core.vision.imageio import Need, decode
from photosearch.core.vision.pixels import load_pixels
from tests.helpers import save_avif_with_thumbnail

pytest.importorskip("pillow_heif")


def _quadrants(size=(640, 480)) -> Image.Image:
    """Four colours, one per quadrant: each of the 8 rotations and mirrors looks different."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[: h // 2, : w // 2] = (220, 30, 30)
    rgb[: h // 2, w // 2:] = (30, 200, 30)
    rgb[h // 2:, : w // 2] = (30, 30, 220)
    rgb[h // 2:, w // 2:] = (230, 230, 40)
    return Image.fromarray(rgb)


def _heic(path, img: Image.Image, thumbnails=(320,), orientation: int = 1):
    kwargs = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    img.save(path, "HEIF", quality=90, thumbnails=list(thumbnails), **kwargs)
    return path


def _looks_like(a: Image.Image, b: Image.Image) -> bool:
    small = (16, 16)
    x = np.asarray(a.convert("RGB").resize(small, Image.Resampling.BOX), np.float32)
    y = np.asarray(b.convert("RGB").resize(small, Image.Resampling.BOX), np.float32)
    return float(np.abs(x - y).mean()) < 12


def test_the_thumbnail_is_used_when_it_meets_the_need(tmp_path):
    path = _heic(tmp_path / "p.heic", _quadrants(), thumbnails=(160,))
    got = decode(path, need=Need(short=100), thumbnail=True)
    assert got.image.size == (160, 120)  # the thumbnail, not the 16x bigger primary
    assert (got.width, got.height) == (640, 480)  # the photo's own size is still reported
    assert _looks_like(got.image, _quadrants())


def test_the_primary_is_decoded_when_the_thumbnail_is_too_small(tmp_path):
    path = _heic(tmp_path / "p.heic", _quadrants(), thumbnails=(160,))
    assert decode(path, need=Need(short=128), thumbnail=True).image.size == (640, 480)
    assert decode(path, need=Need(short=50, long=200), thumbnail=True).image.size == (640, 480)
    no_thumbnail = _heic(tmp_path / "q.heic", _quadrants(), thumbnails=())
    # the primary, box-reduced by 3 as any big picture is (the thumbnail would have been 160x120)
    assert decode(no_thumbnail, need=Need(short=75), thumbnail=True).image.size == (214, 160)


def test_the_smallest_thumbnail_that_meets_the_need_is_taken(tmp_path):
    path = _heic(tmp_path / "p.heic", _quadrants(), thumbnails=(80, 160, 320))
    assert decode(path, need=Need(short=50), thumbnail=True).image.size == (80, 60)
    assert decode(path, need=Need(short=100), thumbnail=True).image.size == (160, 120)
    assert decode(path, need=Need(short=150), thumbnail=True).image.size == (320, 240)


def test_what_a_person_looks_at_is_never_the_thumbnail(tmp_path):
    """Previews, Compare and the viewer decode without `thumbnail`: the full picture (reduced
    by 2 here; the thumbnail, which meets the need, would have been 160x120)."""
    path = _heic(tmp_path / "p.heic", _quadrants(), thumbnails=(160,))
    assert decode(path, min_side=100).image.size == (320, 240)
    assert decode(path).image.size == (640, 480)


def _orientation_agrees(path, stored, orientation):
    upright = imageio.transpose(stored, orientation)
    from_thumbnail = decode(path, need=Need(short=50), thumbnail=True)
    from_primary = decode(path)
    assert max(from_thumbnail.image.size) == 80 and max(from_primary.image.size) == 320
    assert (from_thumbnail.width, from_thumbnail.height) == (from_primary.width, from_primary.height) == upright.size
    assert _looks_like(from_primary.image, upright)
    assert _looks_like(from_thumbnail.image, upright)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_the_same_from_the_thumbnail_and_the_primary(tmp_path, orientation):
    stored = _quadrants((320, 240))
    _orientation_agrees(_heic(tmp_path / "p.heic", stored, thumbnails=(80,), orientation=orientation), stored,
                        orientation)


def test_need_sizes():
    need = Need(short=256) | Need(short=32, long=512)
    assert need == Need(short=256, long=512)
    assert need.met_by(512, 300) and need.met_by(300, 600) and not need.met_by(600, 255)
    assert not need.met_by(500, 300)  # 500 on the long side is short of 512
    assert need.scale(4000, 3000) == pytest.approx(max(256 / 3000, 512 / 4000))
    assert Need(short=256).reduction(4000, 3000) == 5 and need.reduction(4000, 3000) == 3
    assert Need().reduction(4000, 3000) == 1


def test_indexing_reads_the_thumbnail_and_follows_its_need(tmp_path, convnet_model, app, monkeypatch):
    """load_for_model decodes what indexing_need asks for: the thumbnail while it meets it, the
    primary once the need grows past it (what a new per-photo record would do)."""
    path = _heic(tmp_path / "p.heic", _quadrants(), thumbnails=(320,))
    descriptor = Descriptor(app.embedder(Descriptor.prepare_spec(app.model_spec(convnet_model), DEFAULT,
                                                                 app.dirs.prepared_models)), DEFAULT)
    need = indexer.indexing_need(descriptor)
    # the model's views, the glances, and the pixel record (320 px on the long side at least)
    assert need == Need(short=max(descriptor.embedder.spec.preprocess.size, 32), long=320)
    assert need.met_by(320, 240) and not need.met_by(160, 120)
    seen = []
    real = indexer.decode

    def spy(*args, **kwargs):
        got = real(*args, **kwargs)
        seen.append(got.image.size)
        return got

    monkeypatch.setattr(indexer, "decode", spy)
    d = indexer.load_for_model(1, str(path), descriptor)
    assert d.error is None and (d.width, d.height) == (640, 480) and seen == [(320, 240)]
    assert d.pixels is not None and load_pixels(d.pixels).width == 320  # the record from the thumbnail
    monkeypatch.setattr(indexer, "indexing_need", lambda desc: need | Need(long=512))
    d = indexer.load_for_model(1, str(path), descriptor)
    assert d.error is None and seen[-1] == (640, 480)


def test_an_avif_thumbnail_is_used_when_it_meets_the_need(tmp_path):
    path = save_avif_with_thumbnail(_quadrants(), tmp_path / "p.avif", thumb=160)
    assert decode(path).image.size == (640, 480)  # the primary, as Pillow reads the file
    got = decode(path, need=Need(short=100), thumbnail=True)
    assert got.image.size == (160, 120) and (got.width, got.height) == (640, 480)
    assert _looks_like(got.image, _quadrants())
    assert decode(path, need=Need(short=128), thumbnail=True).image.size == (640, 480)  # too small
    assert decode(path, min_side=100).image.size == (320, 240)  # not for what a person sees


@pytest.mark.parametrize("orientation", [2, 3, 5, 6, 8])
def test_avif_orientation_is_the_same_from_the_thumbnail_and_the_primary(tmp_path, orientation):
    stored = _quadrants((320, 240))
    _orientation_agrees(save_avif_with_thumbnail(stored, tmp_path / "p.avif", thumb=80, orientation=orientation),
                        stored, orientation)


def test_a_damaged_avif_container_falls_back_to_the_primary(tmp_path):
    from photosearch.core.vision import avif

    data = save_avif_with_thumbnail(_quadrants(), tmp_path / "p.avif", thumb=160).read_bytes()
    for cut in (40, 200, len(data) - 10):
        assert avif.thumbnail(data[:cut], (100, 75)) is None
    assert avif.thumbnail(b"not an avif at all", (1, 1)) is None


@pytest.mark.skipif(not shutil.which("heif-enc"), reason="heif-enc (Debian: libheif-examples) is not installed")
def test_an_avif_written_by_libheif_gives_its_thumbnail(tmp_path):
    _quadrants().save(tmp_path / "p.png")
    subprocess.run(["heif-enc", "-A", "-t", "160", "-o", str(tmp_path / "p.avif"), str(tmp_path / "p.png")],
                   check=True, capture_output=True)
    got = decode(tmp_path / "p.avif", need=Need(short=100), thumbnail=True)
    assert got.image.size == (160, 120) and _looks_like(got.image, _quadrants())
