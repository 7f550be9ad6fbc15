"""A copy lies wholly inside the other picture: two crops of one photo that each hold a strip the
other lacks are not copies of each other, however much they share; a photo turned by a few
degrees, its corners filled with one colour, still is one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from photosearch.core.duplicates.verify import COPY, SAME_VIEW
from tests.core.duplicates.test_verify import BASE, jpeg, judge

W, H = BASE.size


@pytest.mark.parametrize("overlap", [0.9, 0.94])
@pytest.mark.parametrize("direction", ["sideways", "diagonally"])
def test_two_crops_shifted_against_each_other_are_not_copies(overlap, direction):
    cw, ch = int(W * 0.8), int(H * 0.8)
    shift = round(cw * (1 - overlap)) if direction == "sideways" else round(cw * (1 - overlap ** 0.5))
    down = 0 if direction == "sideways" else round(ch * (1 - overlap ** 0.5))
    a = BASE.crop((0, 0, cw, ch))
    b = BASE.crop((shift, down, shift + cw, down + ch))
    ev = judge(jpeg(a), jpeg(b))
    assert ev.verdict == SAME_VIEW, (ev.reason, ev.facts)
    assert "overlapping crops of one picture" in ev.reason
    # either crop is a copy of the whole photo: it lies wholly inside it
    assert judge(BASE, jpeg(b)).verdict == COPY


@pytest.mark.parametrize("degrees", [3, 7])
@pytest.mark.parametrize("fill", [(0, 0, 0), (255, 255, 255)])
def test_a_photo_turned_a_little_with_filled_corners_is_still_a_copy(degrees, fill):
    turned = BASE.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    ev = judge(BASE, jpeg(turned))
    assert ev.verdict == COPY, (ev.reason, ev.facts)
    assert "turned" in ev.reason


def test_a_photo_turned_with_its_corners_filled_by_its_own_content_is_not_proven_a_copy():
    """Mirrored into the corners, the turned picture holds content that is nowhere in the other,
    at its place: only a fill of one colour is set aside (a choice; such turns are rare)."""
    a = np.asarray(BASE)
    m = cv2.getRotationMatrix2D((W / 2, H / 2), 7, 1.0)
    turned = Image.fromarray(cv2.warpAffine(a, m, (W, H), borderMode=cv2.BORDER_REFLECT))
    assert judge(BASE, jpeg(turned)).verdict == SAME_VIEW
