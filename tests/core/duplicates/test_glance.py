"""Glances: a turned, shrunk, framed or screenshotted copy is the same picture at 32 x 32;
two different crops of one photo and unrelated photos are not."""

import io

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from photosearch.core.duplicates.pairs import GLANCE_MATCH
from photosearch.core.vision.glance import (
    GLANCE_BYTES,
    SIDE,
    content_box,
    content_share,
    correlation,
    glance_of,
    normalised,
)

rng = np.random.default_rng(3)


def _photo(seed: int, w: int = 480, h: int = 360) -> Image.Image:
    """Smooth random structure plus a few shapes: something like a photo, not like noise."""
    r = np.random.default_rng(seed)
    small = r.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = int(r.integers(0, w - 60)), int(r.integers(0, h - 60))
        d.ellipse([x, y, x + int(r.integers(20, 120)), y + int(r.integers(20, 120))],
                  fill=tuple(int(c) for c in r.integers(0, 256, 3)))
    return img


def _jpeg(img: Image.Image, q: int = 60) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _ncc(a: Image.Image, b: Image.Image) -> float:
    raw = [np.frombuffer(glance_of(x)[:2 * SIDE * SIDE], np.uint8).reshape(1, 2, SIDE, SIDE) for x in (a, b)]
    ga, gb = normalised(raw[0]), normalised(raw[1])
    return float(correlation(ga, gb)[0])


def _screenshot(img: Image.Image) -> Image.Image:
    small = img.resize((img.width // 2, img.height // 2))
    canvas = Image.new("RGB", (small.width + 120, small.height + 160), (236, 236, 236))
    ImageDraw.Draw(canvas).rectangle([0, 0, canvas.width, 40], fill=(60, 60, 70))
    canvas.paste(small, (60, 80))
    return canvas


def test_copies_that_change_the_models_features_still_match():
    img = _photo(1)
    turned = _jpeg(img.transpose(Image.Transpose.ROTATE_90))
    thumb = _jpeg(img.resize((72, 54), Image.Resampling.BILINEAR))
    mirrored = _jpeg(ImageOps.mirror(img))
    framed = _jpeg(ImageOps.expand(img, border=40, fill=(200, 30, 30)))
    letterboxed = Image.new("RGB", (480, 480))
    letterboxed.paste(img, (0, 60))
    for copy in (turned, thumb, mirrored, framed, _jpeg(letterboxed), _screenshot(img)):
        assert _ncc(img, copy) >= GLANCE_MATCH


def test_different_crops_unrelated_photos_and_blank_pages_do_not():
    img = _photo(2)
    left, right = img.crop((0, 0, 288, 360)), img.crop((192, 0, 480, 360))
    assert _ncc(left, right) < GLANCE_MATCH
    assert _ncc(img, _photo(5)) < GLANCE_MATCH
    blank = Image.new("RGB", (300, 200), (250, 250, 250))
    assert _ncc(blank, blank) == 0.0  # a flat glance correlates with nothing, not even itself


def test_content_box_strips_flat_borders_only():
    img = _photo(4)
    assert content_box(img) == (0, 0, img.width, img.height)
    framed = ImageOps.expand(img, border=30, fill=(10, 10, 10))
    left, top, right, bottom = content_box(framed)
    assert abs(left - 30) <= 3 and abs(top - 30) <= 3 and abs(right - 510) <= 3 and abs(bottom - 390) <= 3
    plain = Image.new("RGB", (100, 100), (0, 0, 0))
    assert content_box(plain) == (0, 0, 100, 100)  # nothing but border: keep it whole
    assert len(glance_of(framed)) == GLANCE_BYTES
    # the keep rule's "resolution" counts the picture, not the frame
    assert abs(content_share(glance_of(framed)) - (480 * 360) / (540 * 420)) < 0.02
    assert content_share(glance_of(img)) == 1.0


def test_content_shares_of_many_boxes_say_what_content_share_says_of_each():
    """The glance pass reads a million boxes at once (glance_pairs._glances): the batch form must
    agree with the one-photo form, an empty or unknown box counting as the whole photo."""
    import numpy as np

    from photosearch.core.vision.glance import GLANCE_BYTES, content_share, content_shares

    rng = np.random.default_rng(4)
    boxes = np.concatenate([rng.integers(0, 256, (200, 4)), [[0, 0, 255, 255], [9, 9, 9, 200], [200, 0, 10, 255],
                                                           [0, 0, 0, 0]]]).astype(np.uint8)
    one = [content_share(bytes(GLANCE_BYTES - 4) + bytes(b)) for b in boxes]
    assert content_shares(boxes).tolist() == one
    assert one[-4:] == [1.0, 1.0, 1.0, 1.0]
    from photosearch.core.vision.glance import SIDE, coarse_of

    assert coarse_of(np.zeros((0, 1, SIDE, SIDE), np.uint8)).shape == (0, 1, 8, 8)  # an empty batch


def test_coarse_glances_from_the_raw_pixels_and_matches_normalising_only_what_comes_close():
    """The coarse glance is the full normalised glance pooled to 8 x 8 and normalised again,
    worked out from the stored pixels; matches finds a turned, shrunk copy among unrelated photos
    and never a flat glance (a blank page correlates with nothing, however its noise pools)."""
    from photosearch.core.vision.glance import coarse_of, matches

    img = _photo(7)
    photos = [img, _jpeg(img.resize((90, 68)).transpose(Image.Transpose.ROTATE_270)), _photo(8), _photo(9),
              Image.new("RGB", (300, 200), (128, 128, 128)), Image.new("RGB", (300, 200), (129, 129, 129))]
    raw = np.stack([np.frombuffer(glance_of(p)[:2 * SIDE * SIDE], np.uint8).reshape(2, SIDE, SIDE) for p in photos])
    raw[4:, :, 3, 3] += 2  # two nearly flat glances, alike: zeros, coarse or full (no credit for noise)
    raw[3, 1] = raw[4, 1]  # a photo whose content glance is flat and whole glance is not: zeroed alone
    g = normalised(raw)
    pooled = g.reshape(len(photos), 2, 8, SIDE // 8, 8, SIDE // 8).sum(axis=(3, 5))
    norm = np.sqrt((pooled ** 2).sum(axis=(2, 3), keepdims=True))
    want = np.where(norm > 1e-6, pooled / np.maximum(norm, 1e-12), 0)
    got = coarse_of(raw)
    assert np.abs(got - want).max() < 1e-5 and not got[4:].any() and not got[3, 1].any() and got[3, 0].any()
    a, b = np.array([0, 0, 0, 4, 2]), np.array([1, 2, 3, 5, 3])
    assert matches(raw, got, a, b, GLANCE_MATCH).tolist() == [True, False, False, False, False]
    assert (correlation(g[a], g[b]) >= GLANCE_MATCH).tolist() == [True, False, False, False, False]
    # a fine regular pattern: every 4 x 4 cell alike, so its coarse glance is zeros, yet it is no
    # blank page: two of it are compared in full (a reviewer's find)
    tile = np.tile(np.random.default_rng(0).integers(60, 200, (4, 4)).astype(np.uint8), (8, 8))
    pattern = np.stack([np.stack([tile, tile])] * 2)
    assert not coarse_of(pattern).any() and matches(pattern, coarse_of(pattern), np.array([0]), np.array([1]),
                                                    GLANCE_MATCH).tolist() == [True]
