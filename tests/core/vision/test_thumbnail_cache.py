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
