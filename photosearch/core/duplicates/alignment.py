"""Where one picture sits in the other: the geometric half of verifying a copy.

An edit relates two pictures by one similarity transform (resized, cropped, turned by 90 degrees,
mirrored, slightly rotated, framed); a new shot of a 3-D scene is not related by any. Two sources
of such a transform, both on the pixel records (vision/pixels.py):

- the whole picture: one content box (the picture inside flat borders) mapped onto the other, in
  each of the 8 turns and mirrors whose shape fits; this finds resized, turned, mirrored, framed
  and screenshotted copies, and shrunk thumbnails too small for local features;
- local features: ORB keypoints matched with Lowe's ratio test and a RANSAC similarity fit
  (OpenCV), as is and mirrored; this finds crops and anything the boxes get wrong.

Each candidate is scored by a quick correlation of the aligned pictures at low resolution and the
best is handed to residual.py, which decides whether the aligned pictures agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..vision.pixels import Pixels

Matrix = np.ndarray  # 2x3 float64, a point of B -> the same point of A (record pixels)

_QUICK_SIDE = 96  # the quick look: enough to tell the right alignment from a wrong one
WHOLE_ENOUGH = 0.9  # a whole-picture alignment this good needs no keypoints
MIN_INLIERS = 10
_ASPECT = 1.12  # boxes whose shapes differ more than this are not one picture resized


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # [N, 2] float32
    descriptors: np.ndarray | None  # [N, 32] uint8


@dataclass
class Alignment:
    matrix: Matrix
    source: str  # "whole", "points" or "crop"
    turns: int = 0  # quarter turns (counter-clockwise) of B, for the words
    mirrored: bool = False
    inliers: int = 0
    quick: float = 0.0  # correlation of the aligned pictures at low resolution
    matches: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # [K, ax, ay, bx, by]


def _orb() -> cv2.ORB:
    # small patches: records are 384 px at most, thumbnails far less
    return cv2.ORB.create(nfeatures=300, scaleFactor=1.3, nlevels=5, edgeThreshold=12, patchSize=19,
                          fastThreshold=10)


def features(grey: np.ndarray) -> Features:
    if min(grey.shape) < 24:
        return Features(np.zeros((0, 2), np.float32), None)
    kp, des = _orb().detectAndCompute(grey, None)
    return Features(np.array([k.pt for k in kp], np.float32).reshape(-1, 2), des)


def as_matrix(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def compose(outer: Matrix, inner: Matrix) -> Matrix:
    """The map `outer` after `inner`."""
    return (as_matrix(outer) @ as_matrix(inner))[:2]


def invert(m: Matrix) -> Matrix:
    return np.asarray(cv2.invertAffineTransform(m), np.float64)


def scale_of(m: Matrix) -> float:
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def orientation(w: int, h: int, k: int) -> tuple[Matrix, tuple[int, int]]:
    """For a w x h picture turned k % 4 quarter turns (mirrored first when k >= 4): the map from
    the turned picture's pixels back to the original's, and the turned picture's (w, h)."""
    m = np.array([[-1.0, 0, w - 1], [0, 1, 0]]) if k >= 4 else np.array([[1.0, 0, 0], [0, 1, 0]])
    for _ in range(k % 4):
        m = compose(m, np.array([[0.0, -1, w - 1], [1, 0, 0]]))  # as np.rot90: new (x, y) is old (w - 1 - y, x)
        w, h = h, w
    return m, (w, h)


def _box_of(p: Pixels, m_back: Matrix) -> tuple[float, float, float, float]:
    """The content box of `p` in a turned picture's pixels (m_back: turned -> original)."""
    left, top, right, bottom = p.box
    fwd = invert(m_back)
    corners = np.array([[left, top, 1], [right - 1, bottom - 1, 1]], np.float64) @ fwd.T
    x0, x1 = sorted(corners[:, 0])
    y0, y1 = sorted(corners[:, 1])
    return x0, y0, x1 + 1, y1 + 1


def _glance(p: Pixels, side: int = 24) -> np.ndarray:
    """The picture inside its content box at side x side, zero-mean and unit-norm."""
    left, top, right, bottom = p.box
    x = cv2.resize(p.grey[top:bottom, left:right], (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    x -= x.mean()
    n = float(np.linalg.norm(x))
    return x / n if n > 1e-3 else x * 0


def _turned(g: np.ndarray, k: int) -> np.ndarray:
    """A square glance as the turned picture's glance (the same turns as `orientation`)."""
    return np.rot90(g[:, ::-1] if k >= 4 else g, k % 4)


class _Quick:
    """The quick look at alignments of B onto A: A's box at _QUICK_SIDE made once."""

    def __init__(self, a: Pixels, b: Pixels):
        left, top, right, bottom = a.box
        self.f = _QUICK_SIDE / max(right - left, bottom - top)
        self.w, self.h = max(2, round((right - left) * self.f)), max(2, round((bottom - top) * self.f))
        self.to_small = np.array([[self.f, 0, -left * self.f], [0, self.f, -top * self.f]])
        self.ref = cv2.resize(a.grey[top:bottom, left:right], (self.w, self.h),
                              interpolation=cv2.INTER_AREA).astype(np.float32)
        self.b = b.grey
        self._smoothed: dict[float, np.ndarray] = {}

    def score(self, m: Matrix) -> float:
        """Correlation of A's box with B warped onto it: high only when the alignment is right
        (and the pictures alike)."""
        s = scale_of(m) * self.f
        src = self.b
        if s < 0.5:  # shrinking B: smooth it first, as INTER_AREA would
            sigma = round(0.5 / s, 1)
            if sigma not in self._smoothed:
                self._smoothed[sigma] = cv2.GaussianBlur(self.b, (0, 0), sigma)
            src = self._smoothed[sigma]
        onto = compose(self.to_small, m)
        warped = cv2.warpAffine(src, onto, (self.w, self.h), flags=cv2.INTER_LINEAR, borderValue=0)
        inside = cv2.warpAffine(np.ones_like(src), onto, (self.w, self.h), flags=cv2.INTER_NEAREST,
                                borderValue=0) > 0
        if inside.mean() < 0.2:
            return 0.0
        x, y = self.ref[inside], warped[inside].astype(np.float32)
        x, y = x - x.mean(), y - y.mean()
        den = float(np.sqrt((x * x).sum() * (y * y).sum()))
        return float((x * y).sum() / den) if den > 1e-3 else 0.0


def quick_score(a: Pixels, b: Pixels, m: Matrix) -> float:
    return _Quick(a, b).score(m)


def whole_alignments(a: Pixels, b: Pixels, tries: int = 2) -> list[Alignment]:
    """B's content box onto A's, in the orientations whose shape fits, the `tries` most alike
    at a glance (24 x 24) looked at more closely."""
    la, ta, ra, ba = a.box
    ga, gb = _glance(a), _glance(b)
    fits = []
    for k in range(8):
        back, _ = orientation(b.width, b.height, k)
        lb, tb, rb, bb = _box_of(b, back)
        sx, sy = (ra - la) / max(rb - lb, 1.0), (ba - ta) / max(bb - tb, 1.0)
        if max(sx, sy) / min(sx, sy) > _ASPECT:
            continue
        s = float(np.sqrt(sx * sy))  # one scale: an edit keeps the picture's shape
        cx_a, cy_a, cx_b, cy_b = (la + ra) / 2, (ta + ba) / 2, (lb + rb) / 2, (tb + bb) / 2
        onto = np.array([[s, 0, cx_a - s * cx_b], [0, s, cy_a - s * cy_b]])
        fits.append((float((ga * _turned(gb, k)).sum()), k, compose(onto, invert(back))))
    quick = _Quick(a, b)
    out = [Alignment(m, "whole", turns=k % 4, mirrored=k >= 4, quick=quick.score(m))
           for _, k, m in sorted(fits, key=lambda x: -x[0])[:tries]]
    return sorted(out, key=lambda x: -x.quick)


def point_alignment(a: Pixels, b: Pixels, fa: Features, fb: Features, mirrored: bool) -> Alignment | None:
    """A RANSAC similarity fit of matched keypoints (fb: of B, mirrored when `mirrored`)."""
    if fa.descriptors is None or fb.descriptors is None or len(fa.points) < 4 or len(fb.points) < 4:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(fa.descriptors, fb.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.85 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    pa = fa.points[[g.queryIdx for g in good]]
    pb = fb.points[[g.trainIdx for g in good]]
    m, inl = cv2.estimateAffinePartial2D(pb, pa, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=1000,
                                         confidence=0.99)
    if m is None or inl is None or int(inl.sum()) < MIN_INLIERS:
        return None
    keep = inl.ravel().astype(bool)
    if mirrored:  # keypoints of the mirrored B: back to B's own pixels
        back = np.array([[-1.0, 0, b.width - 1], [0, 1, 0]])
        m = compose(np.asarray(m, np.float64), back)
        pb = pb.copy()
        pb[:, 0] = b.width - 1 - pb[:, 0]
    m = np.asarray(m, np.float64)
    angle = float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))) * (-1 if mirrored else 1)
    matches = np.hstack([pa[keep], pb[keep]]).astype(np.float32)
    return Alignment(m, "points", turns=round(angle / 90) % 4, mirrored=mirrored, inliers=int(keep.sum()),
                     quick=quick_score(a, b, m), matches=matches)


class FeatureCache:
    """Keypoints of the records met in one grouping run: a photo meets a dozen others."""

    def __init__(self) -> None:
        self._plain: dict[int, Features] = {}
        self._mirror: dict[int, Features] = {}

    def get(self, key: int, p: Pixels, mirrored: bool = False) -> Features:
        store = self._mirror if mirrored else self._plain
        f = store.get(key)
        if f is None:
            f = store[key] = features(np.ascontiguousarray(p.grey[:, ::-1]) if mirrored else p.grey)
        return f


def crop_alignment(a: Pixels, b: Pixels) -> Alignment | None:
    """The smaller picture found inside the larger at low resolution, over a range of sizes (as
    is: no turn, no mirror): a crop of a picture with too little texture for keypoints (a
    drawing, a chart, flat colours) still has its place in the whole."""
    big, small, swap = (a, b, False) if a.width * a.height >= b.width * b.height else (b, a, True)
    f = _QUICK_SIDE * 2 / max(big.width, big.height)
    big_small = cv2.resize(big.grey, (max(8, round(big.width * f)), max(8, round(big.height * f))),
                           interpolation=cv2.INTER_AREA)
    best: tuple[float, float, int, int] | None = None

    def look(shares: np.ndarray) -> None:
        nonlocal best
        for share in shares:  # the smaller picture's width as a share of the larger's
            w = round(big_small.shape[1] * share)
            h = round(w * small.height / small.width)
            if w < 8 or h < 8 or h > big_small.shape[0] or w > big_small.shape[1]:
                continue
            tmpl = cv2.resize(small.grey, (w, h), interpolation=cv2.INTER_AREA)
            _, score, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(big_small, tmpl, cv2.TM_CCOEFF_NORMED))
            if best is None or score > best[0]:
                best = (float(score), w / small.width / f, x, y)

    look(np.geomspace(0.35, 1.0, 12))  # coarse steps of 10 %, then within them by 1 %
    if best is None:
        return None
    around = best[1] * small.width * f / big_small.shape[1]
    look(around * np.linspace(0.95, 1.05, 11))
    _, s, x, y = best
    m = np.array([[s, 0, x / f], [0, s, y / f]])  # the small picture's pixels -> the big one's
    if swap:
        m = invert(m)
    return Alignment(m, "crop", quick=quick_score(a, b, m))


def align(a: Pixels, b: Pixels, cache: FeatureCache | None = None, keys: tuple[int, int] = (-1, -2),
          points: bool = False) -> list[Alignment]:
    """Candidate alignments of B onto A, best first (at most a few); `points`: by keypoints only."""
    found = [] if points else whole_alignments(a, b)[:2]
    if not found or found[0].quick < WHOLE_ENOUGH:
        cache = cache or FeatureCache()
        fa = cache.get(keys[0], a)
        for mirrored in (False, True):
            got = point_alignment(a, b, fa, cache.get(keys[1], b, mirrored), mirrored)
            if got is not None:
                found.append(got)
        if max((f.quick for f in found), default=0.0) < WHOLE_ENOUGH:
            got = crop_alignment(a, b)
            if got is not None:
                found.append(got)
    found = [f for f in found if 1 / 40 < scale_of(f.matrix) < 40]
    return sorted(found, key=lambda x: -x.quick)[:2]
