"""Thumbnails and screenshots the model cannot see are met by their glances (glance_pairs.py)."""

import io
import os

from PIL import Image

from tests import helpers
from tests.test_cli import run


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _framed(img: Image.Image) -> bytes:
    """The picture small in a big plain window, as a screenshot holds it."""
    canvas = Image.new("RGB", (900, 700), (236, 236, 236))
    canvas.paste(img, (120, 160))
    buf = io.BytesIO()
    canvas.save(buf, "PNG")
    return buf.getvalue()


def _stored(lib) -> set[frozenset[str]]:
    names = {i: os.path.basename(p) for i, p in lib.catalog.conn.execute("SELECT id, path FROM photos")}
    return {frozenset((names[a], names[b])) for a, b in lib.catalog.conn.execute("SELECT a, b FROM dup_pairs")}


def test_a_thumbnail_or_screenshot_the_model_misses_is_met_by_its_glance(make_lib, isolated_home):
    from photosearch.core.app import App
    from photosearch.core.duplicates.glance_pairs import update_glance_pairs
    from photosearch.core.duplicates.pairs import update_pairs
    from photosearch.core.library.paths import app_dirs

    photo = helpers.make_photo(1)
    photos = make_lib({"orig.jpg": 1, "copy.jpg": "=orig.jpg", "other.jpg": 2, "third.jpg": 3,
                       "thumb.jpg": _jpeg(photo.resize((80, 60), Image.BILINEAR)),
                       "screenshot.png": _framed(photo)})
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        update_pairs(lib)
        with lib.catalog.transaction() as c:
            c.execute("DELETE FROM dup_pairs")  # as if the model had met none of them
            c.execute("DELETE FROM meta WHERE key = 'dup_glance_seq'")  # a library from before glance pairs
        assert update_glance_pairs(lib) == 5
        stored = _stored(lib)
        assert {frozenset(p) for p in [("orig.jpg", "thumb.jpg"), ("copy.jpg", "thumb.jpg"),
                                       ("orig.jpg", "screenshot.png"), ("copy.jpg", "screenshot.png"),
                                       ("thumb.jpg", "screenshot.png")]} == stored
        # two full-size photos are the model's to meet: neither is searched by its glance
        assert frozenset(("orig.jpg", "copy.jpg")) not in stored
        verdicts = lib.catalog.conn.execute("SELECT COUNT(*) FROM dup_pairs WHERE verdict IS NOT NULL")
        assert verdicts.fetchone()[0] == 0  # candidates only: the pixels decide, later
        assert update_glance_pairs(lib) == 0  # nothing indexed since: nothing looked at

    # one more thumbnail, of another photo: only it is looked at, and it meets its original
    (photos / "other-small.jpg").write_bytes(_jpeg(helpers.make_photo(2).resize((96, 72), Image.BILINEAR)))
    run("index", home=isolated_home)
    with app.libraries.open("lib", write=True) as lib:
        update_pairs(lib)
        with lib.catalog.transaction() as c:  # again as if the model had missed it
            c.execute("DELETE FROM dup_pairs WHERE a = (SELECT id FROM photos WHERE path LIKE '%other-small.jpg') "
                      "OR b = (SELECT id FROM photos WHERE path LIKE '%other-small.jpg')")
        before = _stored(lib)
        assert update_glance_pairs(lib) == 1
        assert _stored(lib) - before == {frozenset(("other.jpg", "other-small.jpg"))}


def test_a_thumbnail_whose_glances_come_later_is_met_then(make_lib, isolated_home, monkeypatch):
    """A record from before glances cannot be searched by glance; when grouping stores its glances
    on the way (fill_regions), the photo is searched then, though its vector did not change."""
    from photosearch.core.app import App
    from photosearch.core.duplicates import finder
    from photosearch.core.duplicates.glance_pairs import update_glance_pairs
    from photosearch.core.duplicates.pairs import store_regions
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.vision.regions import BLOB_BYTES

    make_lib({"orig.jpg": 1, "other.jpg": 2, "thumb.jpg": _jpeg(helpers.make_photo(1).resize((80, 60)))})
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        ids = {os.path.basename(p): i for i, p in lib.catalog.conn.execute("SELECT id, path FROM photos")}
        thumb = ids["thumb.jpg"]
        full = bytes(lib.catalog.conn.execute("SELECT data FROM regions WHERE photo_id=?", (thumb,)).fetchone()[0])
        with lib.catalog.transaction() as c:
            c.execute("UPDATE regions SET data=? WHERE photo_id=?", (full[:BLOB_BYTES], thumb))
        assert update_glance_pairs(lib) == 0  # no glances: nothing to search with
        store_regions(lib, {thumb: full})
        assert update_glance_pairs(lib) == 0  # nothing indexed since: the thumbnail is not looked at...
        assert update_glance_pairs(lib, also=[thumb]) == 1  # ...unless named as given its glances now
        assert _stored(lib) >= {frozenset(("orig.jpg", "thumb.jpg"))}

        # grouping names the photos whose glances it stored on the way
        with lib.catalog.transaction() as c:
            c.execute("UPDATE regions SET data=? WHERE photo_id=?", (full[:BLOB_BYTES], thumb))
            c.execute("DELETE FROM meta WHERE key = 'dup_seq'")
        named = []
        real = finder.update_glance_pairs
        monkeypatch.setattr(finder, "update_glance_pairs", lambda lib, also=(): named.extend(also) or real(lib, also))
        finder.find_duplicates(lib, "copies", fill_regions=app.region_source(lib))
    assert thumb in named


def test_the_blocked_search_finds_exactly_the_pairs_of_every_orientation():
    """_near works in blocks of queries and targets and in all 8 orientations at once: it must find
    what comparing every query, turned every way, with every target finds, across block edges."""
    import numpy as np

    from photosearch.core.duplicates import glance_pairs
    from photosearch.core.vision.glance import dihedral

    rng = np.random.default_rng(3)
    n = glance_pairs._TARGETS + 300  # two blocks of targets
    # coarse light and dark quadrants and a little detail: many pairs come close, as with photos
    x = np.kron(rng.standard_normal((n, 2, 2)), np.ones((4, 4))) + 0.3 * rng.standard_normal((n, 8, 8))
    x = x.astype(np.float32)
    x -= x.mean(axis=(1, 2), keepdims=True)
    x /= np.linalg.norm(x.reshape(n, -1), axis=1)[:, None, None]
    targets = x.astype(np.float16)
    picked = rng.choice(n, glance_pairs._QUERIES + 5, replace=False)  # two blocks of queries
    queries = dihedral(targets[picked])[np.arange(len(picked)), rng.integers(0, 8, len(picked))]  # turned copies
    i, j = glance_pairs._near(queries, targets)
    turned = dihedral(queries).reshape(len(queries), 8, 64).astype(np.float32)
    best = np.einsum("qod,td->qot", turned, targets.reshape(n, 64).astype(np.float32)).max(axis=1)
    want = set(zip(*np.nonzero(best >= glance_pairs._COARSE_NEAR)))
    assert set(zip(i.tolist(), j.tolist())) == {(int(a), int(b)) for a, b in want}
    assert {(q, int(p)) for q, p in enumerate(picked)} <= want  # each turned copy meets its own
    assert len(want) > 2 * len(picked)  # and others come close too: the line is really tested
