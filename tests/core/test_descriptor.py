import numpy as np
import pytest

from photosearch.core.descriptor import CONFIGS, Descriptor, DescriptorConfig, gem, rmac


def test_gem_by_hand():
    fmap = np.zeros((1, 2, 2, 2), np.float32)
    fmap[0, 0] = [[1, 2], [3, 4]]
    fmap[0, 1] = [[0, 0], [0, 8]]
    out = gem(fmap, p=3)
    assert out[0, 0] == pytest.approx(((1 + 8 + 27 + 64) / 4) ** (1 / 3), rel=1e-5)
    assert out[0, 1] == pytest.approx((512 / 4) ** (1 / 3), rel=1e-4)
    assert gem(fmap, p=1)[0, 0] == pytest.approx(2.5)  # p=1 is average pooling


def test_rmac_by_hand():
    fmap = np.zeros((1, 2, 4, 4), np.float32)
    fmap[0, 0, 0, 0] = 1.0  # only in the top-left corner
    fmap[0, 1, :, :] = 1.0  # everywhere
    out = rmac(fmap, levels=1)  # level 1: one region over the whole (square) map
    assert np.allclose(out[0], np.array([1, 1]) / np.sqrt(2))
    out2 = rmac(fmap, levels=2)
    # level 1: the whole map -> [1, 1]/sqrt2; level 2: four overlapping 3x3 corner regions,
    # only the top-left one sees channel 0 -> [1, 1]/sqrt2 + 3 x [0, 1]
    assert np.allclose(out2[0], [np.sqrt(2), np.sqrt(2) + 3], atol=1e-5)


def test_whitening_by_hand():
    class _E:  # the descriptor needs only a spec for whitening
        class spec:
            feature_map = None
            from photosearch.core.preprocess import Preprocess
            preprocess = Preprocess()

    d = Descriptor(_E(), DescriptorConfig())
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.1], [0.0, -0.1]], np.float32)
    d.fit_whitening(x, shrink=0.0)
    w = d.whiten(x)
    # after whitening both axes carry equal variance: the small one was stretched
    assert np.allclose(np.abs(w), [[1, 0], [1, 0], [0, 1], [0, 1]], atol=1e-5)


def test_flip_views_and_rotated_queries():
    from PIL import Image

    class _E:
        class spec:
            feature_map = None
            from photosearch.core.preprocess import Preprocess
            preprocess = Preprocess(size=8, resize="squash")

    d = Descriptor(_E(), CONFIGS["avg+flip+rot"])
    img = Image.new("RGB", (8, 8))
    img.putpixel((0, 0), (255, 255, 255))
    views = d.prepare(img)
    assert len(views) == 2 and np.array_equal(views[1], views[0][:, :, ::-1])
    assert len(d.query_images(img)) == 4 and d.query_rotations == 4
    scores = Descriptor.query_scores(np.eye(4, 3, dtype=np.float32), np.eye(3, dtype=np.float32), 4)
    assert scores.shape == (1, 3) and np.allclose(scores, 1.0)
