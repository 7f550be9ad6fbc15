"""Where two aligned pictures differ, place by place, and what fills each place.

An edit adds things in a few places (a caption, a logo, a watermark, a sticker); a later moment of
a still scene has things come and go all over it (people walking past a webcam). Both leave
whole places where the pictures differ. What fills them tells the two apart: an overlay is drawn,
with flat fills (a logo, a caption's band, a sticker's ground), where people and things are
photographed, with texture everywhere as around them. Measured on the calibration half of the
benchmark's overlays (a caption three times and a logo) and on frames of OpenCV's vtest (a still
street, 6 s apart and more) that the other rules called copies: at most 2 places of an overlay
hold no flat fill (16 of 20 none), at least 3 places of 26 of the 28 frame pairs.
"""

from __future__ import annotations

import cv2
import numpy as np

from .residual import CHANGED, Residual

STRONG = 0.3  # a changed block whose coarse structure correlates below this: nothing of it is in the other
FILL = 0.5  # fine detail (mean absolute high-pass, grey levels) below which a pixel is a flat fill
DRAWN = 0.2  # a place with this share of flat fill on one side holds something drawn


def _strong(r: Residual) -> tuple[int, np.ndarray, np.ndarray]:
    """The separate places of 2 blocks or more where content is wholly other: (count, labels of
    the blocks [ny, nx], the places' labels)."""
    if r.coarse is None:
        return 0, np.zeros(r.blocks.shape, np.int32), np.zeros(0, np.int32)
    strong = ((r.blocks == CHANGED) & (r.coarse < STRONG)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    big = np.flatnonzero(stats[1:count, cv2.CC_STAT_AREA] >= 2) + 1
    return len(big), labels, big.astype(np.int32)


def place_counts(r: Residual) -> tuple[int, int]:
    """In how many separate places content is wholly other (2 blocks or more each), and how many
    of those hold, in both pictures, what a camera sees rather than what an editor draws: no
    flat fill on either side."""
    count, labels, big = _strong(r)
    if count == 0 or r.detail is None:
        return count, 0
    detail_r, detail_o = r.detail
    b = r.block
    ny, nx = labels.shape
    photographed = 0
    for k in big:
        place = cv2.resize((labels == k).astype(np.uint8), (nx * b, ny * b), interpolation=cv2.INTER_NEAREST) > 0
        fills = [float((d[:ny * b, :nx * b][place] < FILL).mean()) for d in (detail_r, detail_o)]
        photographed += max(fills) < DRAWN
    return count, photographed
