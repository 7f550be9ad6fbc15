import numpy as np
import pytest
from PIL import Image

from photosearch.core.errors import ConfigError
from photosearch.core.vision.preprocess import Preprocess


def test_normalisation_matches_hand_computation():
    pre = Preprocess(size=4, resize="squash", mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    img = Image.new("RGB", (4, 4), (255, 0, 51))
    t = pre(img)
    assert t.shape == (3, 4, 4) and t.dtype == np.float32
    np.testing.assert_allclose(t[:, 0, 0], [(1.0 - 0.5) / 0.5, (0 - 0.25) / 0.25, 0.2], atol=1e-6)


def test_raw_scale_models():
    pre = Preprocess(size=2, resize="squash", mean=(127.5,) * 3, std=(127.5,) * 3, scale=255.0)
    t = pre(Image.new("RGB", (2, 2), (255, 0, 127)))
    np.testing.assert_allclose(t[:, 0, 0], [1.0, -1.0, -0.00392], atol=1e-4)


def test_center_crop_keeps_the_middle():
    img = Image.new("RGB", (400, 200), (0, 0, 0))
    img.paste((255, 255, 255), (150, 0, 250, 200))  # a white band in the middle
    pre = Preprocess(size=100, resize="center_crop", crop_fraction=1.0, mean=(0, 0, 0), std=(1, 1, 1))
    t = pre(img)
    assert t.shape == (3, 100, 100)
    assert t[0, 50, 50] == pytest.approx(1.0, abs=0.01)
    assert t[0, 50, 2] == pytest.approx(0.0, abs=0.01)  # side of the crop: 50 px in from the photo edge


def test_pad_keeps_the_whole_photo_centered():
    img = Image.new("RGB", (200, 100), (255, 255, 255))
    pre = Preprocess(size=100, resize="pad", mean=(0, 0, 0), std=(1, 1, 1))
    t = pre(img)
    assert t[0, 50, 50] == pytest.approx(1.0)
    assert t[0, 5, 50] < 0.6  # padding above the photo


def test_min_side_and_validation():
    assert Preprocess(size=224, crop_fraction=0.875).min_side == 256
    assert Preprocess(size=224, resize="squash").min_side == 224
    with pytest.raises(ValueError):
        Preprocess(resize="zoom")
    assert Preprocess.from_dict({"size": 96, "mean": [0.5, 0.5, 0.5]}).mean == (0.5, 0.5, 0.5)
    with pytest.raises(ConfigError, match="unknown"):
        Preprocess.from_dict({"size": 96, "unknown": 1})
