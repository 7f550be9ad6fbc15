import numpy as np
import pytest

from photosearch.core.catalog import Catalog, Indexed
from photosearch.core.vectors import IndexParams, Projection, VectorIndex


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
