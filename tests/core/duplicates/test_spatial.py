"""The spatial check: one alignment (rotation/mirror, scale, shift) must explain the regions."""

import io

import numpy as np
from PIL import Image

from photosearch.core.duplicates.spatial import agreement, coverage
from photosearch.core.vision.exif import facts, read_facts
from photosearch.core.vision.regions import BLOB_BYTES, GRID, REGIONS, regions_of, unpack

rng = np.random.default_rng(0)


def _grid(fmap_like=None):
    """A photo's regions: distinct random directions per cell, equal weights."""
    r = rng.standard_normal((GRID, GRID, 64)).astype(np.float32)
    return r / np.linalg.norm(r, axis=2, keepdims=True)


def _cov(a, b):
    wa = np.ones((1, REGIONS), np.float32)
    return [float(x[0]) for x in coverage(a.reshape(1, REGIONS, -1), wa, b.reshape(1, REGIONS, -1), wa)]


def test_a_mirrored_copy_is_explained_by_one_alignment():
    a = _grid()
    ca, cb = _cov(a, np.ascontiguousarray(a[:, ::-1]))
    assert ca > 0.9 and cb > 0.9
    # turned copies are the glances' job (test_glance.py): the model's features change when turned
    ca, cb = _cov(a, np.ascontiguousarray(np.rot90(a, 1, axes=(0, 1))))
    assert max(ca, cb) < 0.5


def test_unrelated_photos_and_half_matches_are_not():
    a = _grid()
    ca, cb = _cov(a, _grid())
    assert max(ca, cb) < 0.2
    half = _grid()
    half[:, :3] = a[:, :3]  # the same left part, the rest different: not a copy of the whole
    ca, cb = _cov(a, half)
    assert 0.3 < min(ca, cb) < 0.6
    assert agreement(np.array([ca]), np.array([cb]))[0] < 0.6


def test_a_shifted_crop_is_explained_by_a_shift():
    a = _grid()
    crop = _grid()
    crop[:, :5] = a[:, 2:]  # the photo moved two cells left (a crop), new content on the right
    ca, cb = _cov(a, crop)
    assert ca > 0.6 and cb > 0.6


def test_regions_of_a_feature_map_are_fixed_size_and_unpack():
    fmap = np.abs(rng.standard_normal((2, 96, 5, 9))).astype(np.float32)
    blobs = regions_of(fmap)
    assert [len(b) for b in blobs] == [BLOB_BYTES, BLOB_BYTES]
    r, w, g = unpack(blobs)
    assert r.shape == (2, REGIONS, 64) and w.shape == (2, REGIONS) and w.max() == 1.0
    assert not g.any()  # a record without glances (written before them) gives no glance credit
    assert np.allclose(np.linalg.norm(r, axis=2), 1.0, atol=0.02)
    same = regions_of(fmap[:1])[0]
    assert same == blobs[0]  # the projection is fixed: the same photo, the same regions


def test_exif_capture_date_and_camera():
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 10:30:00"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif.tobytes())
    taken, camera = facts(Image.open(io.BytesIO(buf.getvalue())))
    assert camera == "Canon EOS 5D" and taken == 1563100200.0
    assert read_facts("/nonexistent.jpg") == (None, "")
