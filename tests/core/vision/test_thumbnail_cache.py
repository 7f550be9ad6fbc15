import os

from PIL import Image

from photosearch.core.vision import thumbnail_cache as thumbnails
from tests.helpers import make_photo, oriented_copy, save_jpeg


def test_thumbnail_is_cached_with_freedesktop_metadata(tmp_path):
    photo = save_jpeg(oriented_copy(make_photo(1, (800, 600)), 6), tmp_path / "p.jpg", orientation=6)
    root = tmp_path / "thumbs"
    thumb = thumbnails.load_or_make(photo, root, 256)
    assert max(thumb.size) == 256 and thumb.size[0] > thumb.size[1]  # orientation applied
    cached = thumbnails.cache_path(root, photo, 256)
    assert cached.parent.name == "large"
    with Image.open(cached) as png:
        assert png.text["Thumb::URI"] == photo.as_uri()
        assert png.text["Thumb::MTime"] == str(int(os.stat(photo).st_mtime))


def test_stale_thumbnail_is_remade(tmp_path):
    photo = save_jpeg(make_photo(1, (400, 300)), tmp_path / "p.jpg")
    root = tmp_path / "thumbs"
    first = thumbnails.load_or_make(photo, root, 128)
    save_jpeg(Image.new("RGB", (400, 300), (0, 255, 0)), photo)
    os.utime(photo, (1e9, 1e9))
    second = thumbnails.load_or_make(photo, root, 128)
    assert second.getpixel((10, 10))[1] > 200 and first.getpixel((10, 10)) != second.getpixel((10, 10))


def test_a_file_that_cannot_be_thumbnailed_is_not_decoded_again_until_it_changes(tmp_path, monkeypatch):
    import pytest

    from photosearch.core.errors import ImageError

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    root = tmp_path / "thumbs"
    decodes = []
    real = thumbnails.decode
    monkeypatch.setattr(thumbnails, "decode", lambda *a, **k: decodes.append(1) or real(*a, **k))
    with pytest.raises(ImageError):
        thumbnails.load_or_make(bad, root, 256)
    fail = root / thumbnails.FAIL_DIR
    with Image.open(next(fail.iterdir())) as png:  # the spec's failure record
        assert png.text["Thumb::URI"] == bad.as_uri()
    with pytest.raises(ImageError):
        thumbnails.load_or_make(bad, root, 256)
    assert decodes == [1]  # the second view did not decode it
    save_jpeg(make_photo(2, (400, 300)), bad)  # fixed: it changes, so it is tried again
    os.utime(bad, (2e9, 2e9))
    assert max(thumbnails.load_or_make(bad, root, 256).size) == 256 and decodes == [1, 1]
