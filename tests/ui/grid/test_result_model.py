import pytest
from PySide6.QtGui import QImage

from photosearch.ui.grid.result_model import FailedRole, ResultModel, ThumbnailRole
from photosearch.ui.grid.thumbnail_loader import PixmapCache, ThumbnailLoader
from tests.helpers import make_photo, save_jpeg


@pytest.fixture
def model(tmp_path, qapp):
    loader = ThumbnailLoader(tmp_path / "thumbs", pixels=128, threads=2)
    m = ResultModel(loader, PixmapCache())
    yield m
    loader.new_generation()
    loader.wait()


def _photos(tmp_path, n):
    paths = []
    for i in range(n):
        paths.append(str(save_jpeg(make_photo(i, (400, 300)), tmp_path / f"p{i}.jpg")))
    return paths


def test_model_passes_qabstractitemmodeltester(qtmodeltester, model, tmp_path):
    paths = _photos(tmp_path, 5)
    model.set_results(range(5), [0.9, 0.8, 0.7, 0.6, 0.5], paths)
    qtmodeltester.check(model, force_py=True)


def test_thumbnails_arrive_for_requested_rows(qtbot, model, tmp_path):
    paths = _photos(tmp_path, 4) + [str(tmp_path / "missing.jpg")]
    model.set_results(range(5), [1.0] * 5, paths)
    for r in range(5):
        assert model.data(model.index(r), ThumbnailRole) is None  # placeholder, request sent
    qtbot.waitUntil(lambda: all(model.data(model.index(r), ThumbnailRole) is not None for r in range(4)),
                    timeout=20000)
    qtbot.waitUntil(lambda: model.data(model.index(4), FailedRole), timeout=20000)
    pix = model.data(model.index(0), ThumbnailRole)
    assert max(pix.width(), pix.height()) == 128


def test_stale_generation_is_ignored(qtbot, model, tmp_path):
    paths = _photos(tmp_path, 2)
    model.set_results([1], [1.0], paths[:1])
    old = model.generation
    model.set_results([2], [1.0], paths[1:])  # a new search
    model._on_loaded(old, paths[0], QImage(8, 8, QImage.Format.Format_RGB888))
    assert paths[0] not in model.cache
    model._on_loaded(model.generation, paths[1], QImage(8, 8, QImage.Format.Format_RGB888))
    assert paths[1] in model.cache


def test_pixmap_cache_is_bounded():
    from PySide6.QtGui import QPixmap

    cache = PixmapCache(budget_bytes=3 * 10 * 10 * 4)
    for i in range(5):
        cache.put(str(i), QPixmap(10, 10))
    assert len(cache) == 3 and "0" not in cache and "4" in cache


def test_many_thumbnails_do_not_corrupt_the_interpreter(qtbot, tmp_path, qapp):
    """PySide6's QRunnable.run() loses a reference to None per call; we must not use it."""
    import sys

    path = str(save_jpeg(make_photo(1, (64, 48)), tmp_path / "p.jpg"))
    loader = ThumbnailLoader(tmp_path / "thumbs", pixels=128, threads=2)
    arrived = []
    loader.loaded.connect(lambda g, p, img: arrived.append(g))
    before = sys.getrefcount(None)
    for _ in range(400):
        loader.new_generation()
        loader.request(path)
        loader.wait()
    qtbot.waitUntil(lambda: len(arrived) >= 300, timeout=20000)
    assert sys.getrefcount(None) > before - 100
