import numpy as np
import pytest

from photosearch.core.index.whitening import Whitening, WhiteningSpec

# four points on two axes: variance along x is 100 times that along y
X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.1], [0.0, -0.1]], np.float32)


def test_full_whitening_gives_every_axis_equal_weight():
    w = Whitening.fit(X, WhiteningSpec(shrink=0.0, power=1.0, dim=0))
    out = w(X)
    assert np.allclose(np.abs(out), [[1, 0], [1, 0], [0, 1], [0, 1]], atol=1e-5)


def test_half_whitening_by_hand():
    # covariance (ddof 1): var_x = 2/3, var_y = 0.02/3; power 0.5 scales by var^(-1/4)
    w = Whitening.fit(X, WhiteningSpec(shrink=0.0, power=0.5, dim=0))
    p = np.array([[1.0, 1.0]], np.float32)
    y = np.array([1.0 * (2 / 3) ** -0.25, 1.0 * (0.02 / 3) ** -0.25])
    assert np.allclose(np.abs(w(p)[0]), y / np.linalg.norm(y), atol=1e-5)


def test_shrinkage_adds_a_multiple_of_the_mean_eigenvalue():
    w = Whitening.fit(X, WhiteningSpec(shrink=1.0, power=1.0, dim=0))
    mean_eig = (2 / 3 + 0.02 / 3) / 2
    scales = np.sort(np.abs(w.projections[0]).max(axis=0))
    assert scales == pytest.approx(sorted([(2 / 3 + mean_eig) ** -0.5, (0.02 / 3 + mean_eig) ** -0.5]), rel=1e-5)


def test_dim_keeps_the_strongest_directions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3)) * [5.0, 1.0, 0.1]
    w = Whitening.fit(x, WhiteningSpec(shrink=0.0, power=1.0, dim=1))
    assert w.dim == 1
    assert abs(w.projections[0][0, 0]) > 10 * max(abs(w.projections[0][1, 0]), abs(w.projections[0][2, 0]))


def test_parts_are_whitened_apart_and_weigh_the_same():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) * 50  # b's scale must not drown a
    w = Whitening.fit(np.hstack([a, b]), WhiteningSpec(parts=2, shrink=0.0, power=1.0, dim=0))
    wa = Whitening.fit(a, WhiteningSpec(shrink=0.0, power=1.0, dim=0))
    wb = Whitening.fit(b, WhiteningSpec(shrink=0.0, power=1.0, dim=0))
    x, y = np.hstack([a[:1], b[:1]]), np.hstack([a[1:2], b[1:2]])
    cos = float((w(x) @ w(y).T).item())
    parts = ((wa(a[:1]) @ wa(a[1:2]).T).item() + (wb(b[:1]) @ wb(b[1:2]).T).item()) / 2
    assert cos == pytest.approx(parts, abs=1e-5)
    assert np.linalg.norm(w(x)) == pytest.approx(1.0, abs=1e-6)


def test_save_and_load(tmp_path):
    rng = np.random.default_rng(2)
    w = Whitening.fit(rng.normal(size=(50, 6)), WhiteningSpec(parts=2, dim=2), fitted_on=1234)
    w.save(tmp_path / "w.npz")
    back = Whitening.load(tmp_path / "w.npz")
    assert back.fitted_on == 1234 and back.parts == 2 and back.dim == 4 and back.in_dim == 6
    v = rng.normal(size=(3, 6))
    assert np.allclose(back(v), w(v))


def test_scores_from_raw_vectors_and_their_part_lengths_equal_whitened_cosines():
    rng = np.random.default_rng(3)
    lib = rng.normal(size=(200, 10)) * np.linspace(4, 0.2, 10)
    w = Whitening.fit(lib, WhiteningSpec(parts=2, shrink=1.0, power=0.5, dim=3))
    white, norms = w.apply(lib)
    q = w(lib[:1] + 0.1 * rng.normal(size=(1, 10)))[0]
    assert np.allclose(w.scores(q, lib, norms), white @ q, atol=1e-5)
    assert norms.shape == (200, 2) and np.all(norms > 0)
