"""Content found elsewhere: what moved further than the flow follows (residual.look_further).

A block that looks changed may hold a thing that moved: found a little way off in the other
picture, or at another place where the two differ (people walking past a still camera: each is
where the other picture has background). An overlay's blocks must not pass for that: its places
hold different things, and a caption's blocks all land on one spot. (Ignoring blocks that land
on a flat fill in their own picture, as a caption's may land on a logo, was tried and undone: a
person crossing a white wall, a blown-out sky or a studio backdrop lands on flat background too,
and became a copy.)
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

FLAT_MATCH = 0.05  # a patch with less than this share of the template's contrast (std) is not its content


class Matcher:
    """Normalised correlation of templates against parts of one picture, never on flat ground:
    where a patch is (nearly) uniform its correlation is undefined and OpenCV's TM_CCOEFF_NORMED
    returns rounding noise there, up to 1.0 (a logo's flat fill "matched" every block of a caption,
    which then read as a thing that moved). Patches' contrast comes from the picture's integral
    images, made once and only when asked (most matchers of a copy never are: a millisecond a
    picture, a twentieth of a copy's proof)."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self._integrals: tuple[np.ndarray, np.ndarray] | None = None

    def _sums(self) -> tuple[np.ndarray, np.ndarray]:
        if self._integrals is None:
            self._integrals = cv2.integral2(self.image, sdepth=cv2.CV_64F)
        return self._integrals

    def match(self, tmpl: np.ndarray, top: int, bottom: int, left: int, right: int,
              floor: float | None = None) -> np.ndarray:
        """TM_CCOEFF_NORMED of `tmpl` over image[top:bottom, left:right], -1 where the patch is
        flat (`floor`: flat_floor(tmpl), when the caller looks for one template in many places)."""
        return self._masked(self._raw(tmpl, top, bottom, left, right), tmpl, top, left, floor)

    def best(self, tmpl: np.ndarray, top: int, bottom: int, left: int, right: int,
             floor: float | None = None) -> tuple[float, tuple[int, int]]:
        """The best of `match` and where it is (x, y in the window), most often without masking
        the whole answer: only when OpenCV's best lies on flat ground."""
        floor = flat_floor(tmpl) if floor is None else floor
        score = self._raw(tmpl, top, bottom, left, right)
        _, value, _, (x, y) = cv2.minMaxLoc(score)
        if self._flat_at(tmpl.shape, top + y, left + x, floor):
            _, value, _, (x, y) = cv2.minMaxLoc(self._masked(score, tmpl, top, left, floor))
        return float(value), (int(x), int(y))

    def _raw(self, tmpl: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        return np.asarray(cv2.matchTemplate(self.image[top:bottom, left:right], tmpl, cv2.TM_CCOEFF_NORMED))

    def _masked(self, score: np.ndarray, tmpl: np.ndarray, top: int, left: int, floor: float | None) -> np.ndarray:
        """`score` (positions from (top, left)) with -1 wherever the patch is flat."""
        th, tw = tmpl.shape
        rows, cols = score.shape
        n = th * tw

        def box(s: np.ndarray) -> np.ndarray:
            return np.asarray(s[top + th:top + th + rows, left + tw:left + tw + cols]
                              - s[top:top + rows, left + tw:left + tw + cols]
                              - s[top + th:top + th + rows, left:left + cols] + s[top:top + rows, left:left + cols])

        total, squares = self._sums()
        var = box(squares) / n - (box(total) / n) ** 2
        flat = var < (flat_floor(tmpl) if floor is None else floor)
        return np.where(flat, np.float32(-1.0), score)

    def _flat_at(self, shape: tuple[int, ...], y: int, x: int, floor: float) -> bool:
        """Whether the patch at one position is flat: `_masked`'s test in plain numbers (it is
        asked hundreds of times a pair; numpy's overhead on one position was most of its cost)."""
        th, tw = shape
        n = th * tw
        s, q = self._sums()
        total = float(s[y + th, x + tw] - s[y, x + tw] - s[y + th, x] + s[y, x])
        squares = float(q[y + th, x + tw] - q[y, x + tw] - q[y + th, x] + q[y, x])
        return squares / n - (total / n) ** 2 < floor


def flat_floor(tmpl: np.ndarray) -> float:
    """The variance under which a patch is flat next to `tmpl` (and nothing under a thousandth of
    a contrast unit: the sums' rounding is about that)."""
    return max(FLAT_MATCH * float(tmpl.std()), 1e-3) ** 2


FAR_MATCH = 0.85  # a block found this well elsewhere in the other picture has moved there
_FAR_LIMIT = 96  # changed blocks searched at most (the most textured first)


def found_elsewhere(ref: np.ndarray, other: np.ndarray, changed: np.ndarray, block: int) -> np.ndarray:
    """Changed blocks of `ref` whose content is in `other` a little way off (12 % of the picture
    at most), and nowhere else near in `ref` itself: a repeated texture (bricks, a fence) found
    one brick along is no evidence of motion."""
    out = np.zeros_like(changed)
    h, w = ref.shape
    in_other, in_ref = Matcher(other), Matcher(ref)
    radius = max(8, round(0.12 * max(h, w)))
    ys, xs = np.nonzero(changed)
    strength = [float(np.abs(ref[y * block:(y + 1) * block, x * block:(x + 1) * block]).mean()) for y, x in zip(ys, xs)]
    for k in np.argsort(strength)[::-1][:_FAR_LIMIT]:
        by, bx = int(ys[k]), int(xs[k])
        y0, x0 = by * block, bx * block
        tmpl = ref[y0:y0 + block, x0:x0 + block]
        top, left = max(0, y0 - radius), max(0, x0 - radius)
        win = (top, min(h, y0 + block + radius), left, min(w, x0 + block + radius))
        floor = flat_floor(tmpl)
        best, (lx, ly) = in_other.best(tmpl, *win, floor)
        if best < FAR_MATCH or max(abs(lx + left - x0), abs(ly + top - y0)) < 2:
            continue
        own = in_ref.match(tmpl, *win, floor)
        cy, cx = y0 - top, x0 - left
        own[max(0, cy - 3):cy + 4, max(0, cx - 3):cx + 4] = -1  # the block itself
        if float(own.max()) < FAR_MATCH:
            out[by, bx] = True
    return out


PLACE_MATCH = 0.76  # measured: people walking past a still camera 0.76-0.94, an overlay's places <= 0.74
REPEATED = 0.8  # ... unless the block is found this well at another place of its own picture
PLACE_MARGIN = 0.1
TOGETHER = 1.5  # blocks: two found blocks that went this close to the same way moved together


def found_at_another_place(src: np.ndarray, dst: np.ndarray, blocks: np.ndarray, places: np.ndarray,
                            block: int) -> Iterator[tuple[int, int, float, float]]:
    """Blocks of `src` whose content is found in `dst` at another of the `places` (the blocks
    where the pictures differ), and not at another of them in `src` itself (a repeated pattern):
    (row, column, and how far it went: dx, dy), one at a time, the most textured first (the
    caller stops when it has seen enough: the search is most of a burst's verification)."""
    count, labels = cv2.connectedComponents(places.astype(np.uint8), connectivity=8)
    h, w = src.shape
    windows = []
    for k in range(1, count):
        ys, xs = np.nonzero(labels == k)
        t, b = max(0, (ys.min() - 1) * block), min(h, (ys.max() + 2) * block)
        left, r = max(0, (xs.min() - 1) * block), min(w, (xs.max() + 2) * block)
        if b - t >= block and r - left >= block:
            windows.append((k, t, b, left, r))
    if len(windows) < 2:
        return  # one place only: an overlay, or something that appeared
    in_dst, in_src = Matcher(dst), Matcher(src)
    ys, xs = np.nonzero(blocks)
    strength = [float(np.abs(src[y * block:(y + 1) * block, x * block:(x + 1) * block]).mean()) for y, x in zip(ys, xs)]
    for i in np.argsort(strength)[::-1][:_FAR_LIMIT // 2]:
        by, bx = int(ys[i]), int(xs[i])
        tmpl = src[by * block:(by + 1) * block, bx * block:(bx + 1) * block]
        others = [(t, b, left, r) for k, t, b, left, r in windows if k != labels[by, bx]]
        best, to = -1.0, (0.0, 0.0)
        floor = flat_floor(tmpl)
        for t, b, left, r in others:
            there, (lx, ly) = in_dst.best(tmpl, t, b, left, r, floor)
            if there > best:
                best, to = float(there), (float(lx + left - bx * block), float(ly + t - by * block))
        if best < PLACE_MATCH:
            continue  # found nowhere else: its own picture need not be searched
        # found there clearly better than anywhere in its own picture: the thing itself, not a
        # texture (grass, fur, pavement) that matches any place about as well
        own = max(in_src.best(tmpl, t, b, left, r, floor)[0] for t, b, left, r in others)
        if own < REPEATED and best >= own + PLACE_MARGIN:
            yield (by, bx, *to)


def moved_together(found: list[tuple[int, int, float, float]], tolerance: float, block: int) -> np.ndarray:
    """Which of the found blocks went the same way as a neighbouring one (a thing moves as a
    whole; a chance match elsewhere goes nowhere in particular, and from anywhere), each to a
    place of its own: blocks along a line of text all matching one edge elsewhere went nowhere."""
    if len(found) < 2:
        return np.zeros(len(found), bool)
    v = np.array([(dx, dy) for _, _, dx, dy in found])
    at = np.array([(y, x) for y, x, _, _ in found])
    to = at[:, ::-1] * block + v  # where each went, in pixels
    spacing = block * np.linalg.norm(at[:, None] - at[None], axis=2)
    apart = np.linalg.norm(to[:, None] - to[None], axis=2) >= 0.6 * spacing
    near = ((np.linalg.norm(v[:, None] - v[None], axis=2) <= tolerance) & apart
            & (np.abs(at[:, None] - at[None]).max(axis=2) <= 2))
    np.fill_diagonal(near, False)
    return near.any(axis=1)
