"""Content found elsewhere (moved_far.py): a flat fill is no place for anything to be found."""

from __future__ import annotations

import cv2
import numpy as np

from photosearch.core.duplicates.moved_far import PLACE_MATCH, Matcher, found_at_another_place
from photosearch.core.duplicates.residual import _lcn
from tests.core.duplicates.test_verify import textured

B = 16


def _normalised(grey: np.ndarray) -> np.ndarray:
    return _lcn(grey.astype(np.float32))[0]


def _picture_with_a_logo() -> tuple[np.ndarray, np.ndarray]:
    """A photo as the verifier sees it (contrast-normalised), and the same with a flat logo."""
    grey = np.asarray(textured(3, (384, 288)).convert("L"), np.float32)
    logo = grey.copy()
    logo[208:272, 288:368] = 120.0
    return _normalised(grey), _normalised(logo)


def test_a_flat_fill_matches_no_block_though_opencv_says_it_does():
    photo, with_logo = _picture_with_a_logo()
    matcher = Matcher(with_logo)
    fooled = 0
    for y in range(0, 176, B):
        for x in range(0, 256, B):
            tmpl = np.ascontiguousarray(photo[y:y + B, x:x + B])
            if tmpl.std() < 0.2:
                continue  # only textured blocks are ever looked for
            raw = cv2.matchTemplate(with_logo[200:280, 280:376], tmpl, cv2.TM_CCOEFF_NORMED)
            ours = matcher.match(tmpl, 200, 280, 280, 376)
            inside = (slice(22, 40), slice(22, 56))  # wholly on the logo, clear of its edges' blur
            fooled += float(raw[inside].max()) >= PLACE_MATCH
            assert float(ours[inside].max()) == -1.0
            textured_part = ours[:4, :4]  # where the window still holds the photo: OpenCV's answer
            assert np.allclose(textured_part, raw[:4, :4], atol=1e-4)
    assert fooled > 0  # the hazard is real: OpenCV's correlation on a flat patch is rounding noise


def test_a_caption_is_not_a_thing_that_moved_onto_a_logo():
    """An overlay: a caption in one place and a flat logo in another. The caption's blocks hide
    the photo there; nothing of them is at the logo (it was read as motion: a copy lost)."""
    grey = np.asarray(textured(8, (384, 288)).convert("L"), np.float32)
    edited = grey.copy()
    edited[208:272, 288:368] = 200.0  # the logo
    caption = np.asarray(textured(99, (480, 360)).convert("L"), np.float32)[100:132, 100:196]
    edited[48:80, 64:160] = caption  # something drawn over the photo
    ref, other = _normalised(grey), _normalised(edited)
    changed = np.zeros((288 // B, 384 // B), bool)
    changed[3:5, 4:10] = True  # the caption's blocks
    changed[13:17, 18:23] = True  # the logo's
    found = list(found_at_another_place(ref, other, changed, changed, B))
    assert found == []
