import numpy as np
import pytest

from photosearch.core.index.projection import Projection
from photosearch.core.index.vector_index import IndexParams, VectorIndex
from photosearch.core.library.catalog import Catalog, Indexed


def _library(tmp_path, n=3000, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(40, dim))
    vecs = centers[rng.integers(0, 40, n)] + 0.5 * rng.normal(size=(n, dim))
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    cat = Catalog(tmp_path / "c.sqlite", dim=dim)
    cat.add_pending((f"/p/{i}.jpg", 1, 1) for i in range(n))
    ids = [pid for pid, _ in cat.pending()]
    cat.store([Indexed(pid, 1, 1, "f", 1, 1, v) for pid, v in zip(ids, vecs)], [])
    stored_ids, stored = cat.vectors(ids)
    return cat, np.asarray(stored_ids), stored


def test_projection_is_pca_of_the_sample():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 6)) * np.array([5, 3, 1, 0.1, 0.1, 0.1])
    p = Projection.fit(x, 2)
    # the kept directions are the two of largest variance: the first two axes
    assert np.allclose(np.abs(p.components[:2, :2]), np.eye(2), atol=0.05)
    y = p(x)
    assert y.shape == (500, 2) and np.allclose(np.linalg.norm(y, axis=1), 1, atol=1e-5)


def test_compact_index_rescores_exactly_and_keeps_recall(tmp_path):
    cat, ids, stored = _library(tmp_path)
    index = VectorIndex(tmp_path, 64, IndexParams(index_dim=16, rerank=100))
    index.open(cat)
    assert index.projection is not None and index.index_dim == 16
    rng = np.random.default_rng(2)
    hits = 0
    for q in stored[rng.integers(0, len(stored), 50)] + 0.05 * rng.normal(size=(50, 64)).astype(np.float32):
        q = q / np.linalg.norm(q)
        got_ids, got_scores = index.query(q, 10)
        exact = stored @ q
        truth = set(ids[np.argsort(-exact)[:10]])
        hits += len(truth & set(got_ids.tolist()))
        lookup = dict(zip(ids.tolist(), exact))
        assert np.allclose(got_scores, [lookup[i] for i in got_ids], atol=1e-5)  # exact scores
        assert list(got_scores) == sorted(got_scores, reverse=True)
    assert hits / 500 >= 0.9
    # saved and reopened: the same projection and answers
    index.save(cat)
    again = VectorIndex(tmp_path, 64, IndexParams(index_dim=16, rerank=100))
    assert again.open(cat) is False and again.index_dim == 16
    np.testing.assert_array_equal(again.query(stored[0], 5)[0], index.query(stored[0], 5)[0])


def test_full_dimension_index_below_the_threshold(tmp_path):
    cat, ids, stored = _library(tmp_path, n=500)
    index = VectorIndex(tmp_path, 64, IndexParams())
    index.open(cat)
    assert index.projection is None
    got, scores = index.query(stored[3], 1)
    assert got[0] == ids[3] and scores[0] == pytest.approx(1.0, abs=1e-3)


def test_catching_up_uses_the_sequence_index_not_a_table_scan(tmp_path):
    """Opening or refreshing a library must not read every stored vector (a million rows)."""
    cat, _, _ = _library(tmp_path, n=50)
    issued = []
    cat.conn.set_trace_callback(issued.append)
    list(cat.vectors_since(3))
    cat.conn.set_trace_callback(None)
    query = next(q for q in issued if "FROM vectors" in q)
    plan = cat.conn.execute("EXPLAIN QUERY PLAN " + query).fetchall()
    assert "USING INDEX vectors_seq" in str(plan), plan


def _grow(cat, n, dim=64, seed=5):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)) * np.linspace(3, 0.1, dim)  # a few strong directions, many weak
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    start = cat.vector_count()
    cat.add_pending((f"/g/{seed}-{start + i}.jpg", 1, 1) for i in range(n))
    cat.store([Indexed(pid, 1, 1, "f", 1, 1, v) for (pid, _), v in zip(cat.pending(), vecs)], [])


def test_whitening_is_learned_from_the_library_and_refitted_as_it_doubles(tmp_path):
    from photosearch.core.index.whitening import WhiteningSpec

    spec = WhiteningSpec(parts=2, dim=16, min_photos=400)
    cat = Catalog(tmp_path / "c.sqlite", dim=64)
    _grow(cat, 300, seed=1)
    index = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    index.open(cat)
    assert index.whitening is None and index.index_dim == 64  # too few photos to learn from

    _grow(cat, 200, seed=2)
    index.catch_up(cat)
    assert index.fit_due(cat.vector_count())
    index.rebuild(cat)
    assert index.whitening.fitted_on == 500 and index.index_dim == 32
    ids, stored = cat.vectors(list(range(1, 501)))
    q = stored[7]
    got, scores = index.query(q, 5)
    white = index.whitening(stored) @ index.whitening(q)[0]
    assert got[0] == ids[7] and scores[0] == pytest.approx(1.0, abs=1e-4)
    lookup = dict(zip(ids.tolist(), white))
    assert np.allclose(scores, [lookup[i] for i in got], atol=1e-4)  # cosines in the whitened space

    index.save(cat)
    again = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    assert again.open(cat) is False and again.whitening.fitted_on == 500  # loaded, not refitted
    np.testing.assert_array_equal(again.query(q, 5)[0], got)

    _grow(cat, 400, seed=3)  # 900 < 2 x 500: no refit yet
    again.catch_up(cat)
    assert not again.fit_due(cat.vector_count())
    _grow(cat, 100, seed=4)
    assert again.fit_due(cat.vector_count())
    again.catch_up(cat)
    again.rebuild(cat)
    assert again.whitening.fitted_on == 1000 and again.live_count == 1000


def test_damaged_whitening_file_rebuilds_the_index(tmp_path):
    from photosearch.core.index.whitening import WhiteningSpec

    spec = WhiteningSpec(dim=8, min_photos=100)
    cat = Catalog(tmp_path / "c.sqlite", dim=64)
    _grow(cat, 150)
    index = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    index.open(cat)
    index.save(cat)
    (tmp_path / "whitening.npz").write_bytes(b"not a numpy file")
    notices = []
    again = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    assert again.open(cat, on_notice=notices.append) is True
    assert again.whitening is not None and again.live_count == 150
    assert notices and "whitening" in notices[0]


def test_compact_index_over_whitened_vectors_rescores_in_the_whitened_space(tmp_path):
    from photosearch.core.index.whitening import WhiteningSpec

    cat, ids, stored = _library(tmp_path, n=2000)
    spec = WhiteningSpec(dim=0, min_photos=100)
    index = VectorIndex(tmp_path, 64, IndexParams(index_dim=16, rerank=200), whitening=spec)
    index.open(cat)
    assert index.whitening is not None and index.projection is not None and index.index_dim == 16
    white = index.whitening(stored)
    hits = 0
    for j in range(0, 2000, 100):
        got, scores = index.query(stored[j], 10)
        exact = white @ white[j]
        hits += len(set(ids[np.argsort(-exact)[:10]]) & set(got.tolist()))
        lookup = dict(zip(ids.tolist(), exact))
        assert np.allclose(scores, [lookup[i] for i in got], atol=1e-4)
    assert hits / 200 >= 0.85
    # re-scoring used the kept part lengths; they are saved and loaded with the index
    assert index._norms is not None and index._norms[ids].all()
    index.save(cat)
    again = VectorIndex(tmp_path, 64, IndexParams(index_dim=16, rerank=200), whitening=spec)
    assert again.open(cat) is False
    np.testing.assert_array_equal(again._norms, index._norms)
    for j in (3, 777):
        got, scores = again.query(stored[j], 10)
        assert got[0] == ids[j] and scores[0] == pytest.approx(1.0, abs=1e-4)
    # a damaged norms file is noticed and the index rebuilt
    again.norms_file.write_bytes(b"junk")
    notices = []
    third = VectorIndex(tmp_path, 64, IndexParams(index_dim=16, rerank=200), whitening=spec)
    assert third.open(cat, on_notice=notices.append) is True and "norms" in notices[0]
    assert third.query(stored[5], 1)[0][0] == ids[5]


def test_a_crash_between_refit_and_save_never_pairs_an_index_with_another_fit(tmp_path):
    from photosearch.core.index.whitening import WhiteningSpec

    spec = WhiteningSpec(dim=8, min_photos=100)
    cat = Catalog(tmp_path / "c.sqlite", dim=64)
    _grow(cat, 150, seed=1)
    index = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    index.open(cat)
    index.save(cat)
    saved_index = index.file.read_bytes()
    _grow(cat, 200, seed=2)
    index.catch_up(cat)
    index.rebuild(cat)  # refitted on 350 photos...
    index.whitening.save(index.whitening_file)  # ...its whitening written, then the process dies
    index.file.write_bytes(saved_index)
    notices = []
    again = VectorIndex(tmp_path, 64, IndexParams(), whitening=spec)
    again.open(cat, on_notice=notices.append)
    assert notices and "fit" in notices[0]
    assert again.whitening.fitted_on == 350 and again.live_count == 350


def test_a_refitted_projection_is_never_paired_with_the_old_index(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite", dim=64)
    _grow(cat, 300, seed=1)
    index = VectorIndex(tmp_path, 64, IndexParams(index_dim=16))
    index.open(cat)
    index.save(cat)
    saved_index = index.file.read_bytes()
    _grow(cat, 300, seed=7)
    index.catch_up(cat)
    index.rebuild(cat)  # a new PCA of the same shape...
    index.projection.save(index.projection_file)  # ...written, then the process dies
    index.file.write_bytes(saved_index)
    notices = []
    again = VectorIndex(tmp_path, 64, IndexParams(index_dim=16))
    again.open(cat, on_notice=notices.append)
    assert notices and "different fits" in notices[0] and again.live_count == 600


def test_searches_keep_answering_while_the_index_is_refitted(tmp_path, monkeypatch):
    import threading

    from photosearch.core.index import whitening as whitening_module
    from photosearch.core.index.whitening import WhiteningSpec

    cat, ids, stored = _library(tmp_path, n=400)
    index = VectorIndex(tmp_path, 64, IndexParams(), whitening=WhiteningSpec(dim=8, min_photos=100))
    index.open(cat)
    assert index.whitening.fitted_on == 400
    fitting, release = threading.Event(), threading.Event()
    real_fit = whitening_module.Whitening.fit.__func__

    def slow_fit(cls, *args, **kw):
        fitting.set()
        assert release.wait(10)
        return real_fit(cls, *args, **kw)

    monkeypatch.setattr(whitening_module.Whitening, "fit", classmethod(slow_fit))
    refit = threading.Thread(target=index.rebuild, args=(cat,))
    refit.start()
    try:
        assert fitting.wait(10)
        answers = []
        search = threading.Thread(target=lambda: answers.append(index.query(stored[9], 3)[0]))
        search.start()
        search.join(10)
        # answered by the old index while the refit is still held up (it used to wait for the lock)
        assert not release.is_set() and answers and answers[0][0] == ids[9]
    finally:
        release.set()
        refit.join(10)
    assert not refit.is_alive() and index.live_count == 400 and index.query(stored[9], 1)[0][0] == ids[9]
