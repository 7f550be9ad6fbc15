import numpy as np
import pytest

from photosearch.core.vision.descriptor import CONFIGS, Descriptor, DescriptorConfig, gem, rmac


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


def test_flip_views_and_rotated_queries():
    from PIL import Image

    class _E:
        class spec:
            feature_map = None
            from photosearch.core.vision.preprocess import Preprocess
            preprocess = Preprocess(size=8, resize="squash")

    d = Descriptor(_E(), DescriptorConfig(flip=True, query_rotations=True))
    img = Image.new("RGB", (8, 8))
    img.putpixel((0, 0), (255, 255, 255))
    views = d.prepare(img)
    assert len(views) == 2 and np.array_equal(views[1], views[0][:, :, ::-1])
    assert len(d.query_images(img)) == 4 and d.query_rotations == 4
    scores = Descriptor.query_scores(np.eye(4, 3, dtype=np.float32), np.eye(3, dtype=np.float32), 4)
    assert scores.shape == (1, 3) and np.allclose(scores, 1.0)


class _MeanEmbedder:
    """Stands in for a model: the vector of a view is its mean colour (3-d), so the
    parts a descriptor is made of can be told apart by hand."""

    dim = 3

    class spec:
        feature_map = None
        from photosearch.core.vision.preprocess import Preprocess
        preprocess = Preprocess(size=8, resize="squash")

    def __init__(self):
        self.sizes = []

    def embed(self, batch, feature_map=False):
        from photosearch.core.vision.embedder import Embedding, l2_normalise

        self.sizes.append(batch.shape[-1])
        return Embedding(l2_normalise(batch.mean(axis=(2, 3)) + 10.0), None)


def test_thumbnail_part_is_a_second_unit_half_of_the_vector():
    from PIL import Image

    from photosearch.core.vision.embedder import l2_normalise

    emb = _MeanEmbedder()
    d = Descriptor(emb, DescriptorConfig(thumb=4))
    img = Image.new("RGB", (8, 8), (200, 10, 10))
    views = d.prepare(img)
    assert [v.shape[-1] for v in views] == [8, 4]  # full size first, the thumbnail last
    out = d.run([views, views]).vectors
    assert out.shape == (2, 6) and d.dim == 6
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    # each half is its part's own unit vector, scaled by 1/sqrt(2)
    expect_full = l2_normalise(views[0].mean(axis=(1, 2))[None] + 10.0)[0]
    expect_thumb = l2_normalise(views[1].mean(axis=(1, 2))[None] + 10.0)[0]
    assert np.allclose(out[0, :3] * np.sqrt(2), expect_full, atol=1e-5)
    assert np.allclose(out[0, 3:] * np.sqrt(2), expect_thumb, atol=1e-5)
    assert emb.sizes == [8, 4]


def test_default_descriptor_records_and_reads_back():
    from photosearch.core.vision.descriptor import DEFAULT

    assert DescriptorConfig.from_dict(None) == DEFAULT
    assert DescriptorConfig.from_dict(DEFAULT.to_dict()) == DEFAULT
    assert DEFAULT.whitening() is not None and DEFAULT.whitening().parts == 2
    assert CONFIGS["avg"].whitening() is None and CONFIGS["avg"].parts == 1
