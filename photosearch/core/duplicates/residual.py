"""Do two aligned pictures agree, and where they do not, how: the pixel half of verifying a copy.

After alignment.py has put B onto A, both are compared in blocks (16 px, in the frame of the
coarser of the two, so that a thumbnail is compared at its own size):

- *agree*: the block's local structure is the same (normalised correlation of locally
  contrast-normalised pixels: blind to recolouring, brightness, contrast and recompression);
- *moved*: the block's content is in both pictures but displaced relative to the rest. A dense
  displacement field between the aligned pictures (_flow) is fitted with one affine map (what an
  edit could still leave: a slightly wrong scale or shift); a block whose own flow departs from
  it by half a pixel or more, and whose content matches better where its flow points than where
  the affine map puts it, has moved: a person walking in a burst, parallax between two eyes or two
  spots, anything that moved between two moments;
- *changed*: the block's content is not found in the other picture: an overlay, a watermark, a
  logo, or something that appeared.

An edit adds (overlays, frames) or removes (crops) content, recolours or resamples it; it never
displaces one part of the picture against another. That difference is what separates an edited
copy from a burst frame, a stereo pair or another visitor's photo, where a single global number
(correlation, cosine) cannot.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from ..vision.pixels import Pixels
from .alignment import Matrix, compose, invert, scale_of
from .moved_far import TOGETHER, found_at_another_place, found_elsewhere, moved_together

BLOCK = 16  # at 384 px; a thumbnail is compared in blocks of 8 (block_for)
MOVE_PX = 0.5  # residual flow (record pixels) that counts as motion: above the flow noise of copies
MOVE_GAIN = 0.08  # ... and the block matches this much better where its flow points
AGREE = 0.6  # a block's structure correlates at least this much: the same content
COARSE_AGREE = 0.8  # ... or its coarser structure this much (heavy recompression)
EDGE_SHIFT = 1.5
WELL_POSED = 0.1  # a block's smaller structure eigenvalue at least this share of its larger one
TEXTURE = 1.2  # mean absolute high-pass (grey levels) below which a block tells nothing
GREY_STEP = 8  # greys of this many levels share one part of the curve that matches two pictures' greys

AGREES, MOVED, CHANGED = 1, 2, 3  # block codes in Residual.blocks (0: not compared)


@dataclass
class Residual:
    coverage_a: float  # share of A's picture (content box) that B covers
    coverage_b: float
    informative: int  # blocks compared
    agree: float  # shares of the compared blocks
    moved: float
    changed: float
    cluster: int  # blocks in the largest connected group of moved blocks
    blocks: np.ndarray  # [ny, nx] codes, in the frame below
    frame_to_a: Matrix  # the frame's pixels -> A's record pixels
    frame_to_b: Matrix
    refined: Matrix  # B -> A after the flow's affine correction
    gain: float  # B's brightness against A's over the overlap (for "recoloured")
    noise: float  # median absolute difference of the smoothed pixels (for "identical")
    worst: float  # the largest mean absolute difference of one block: one changed spot is enough
    block: int = BLOCK  # the blocks' side, in the frame's pixels
    displaced: int = 0  # changed blocks whose content is at another changed place (displaced_at_least)
    _far: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # for looking further
    _looked: bool = False  # look_further done
    detail: tuple[np.ndarray, np.ndarray] | None = None  # each picture's fine detail, per pixel of the frame
    coarse: np.ndarray | None = None  # [ny, nx] the coarse structure's correlation per block
    # the worst block over the whole frame, borders too (records of one size only): two records
    # whose content boxes differ agree inside both boxes, and a logo drawn on a flat border lies
    # outside them (255 where not worked out)
    worst_frame: float = 255.0
    # both pictures' smoothed greys over the overlap (a sample), for matched_noise
    greys: tuple[np.ndarray, np.ndarray] | None = None

    def _tally(self, agree: np.ndarray, moved: np.ndarray, changed: np.ndarray) -> None:
        n = max(self.informative, 1)
        self.agree, self.moved, self.changed = float(agree.sum() / n), float(moved.sum() / n), float(changed.sum() / n)
        count, labels = cv2.connectedComponents(moved.astype(np.uint8), connectivity=4)
        self.cluster = int(np.bincount(labels.ravel())[1:].max()) if count > 1 else 0
        self.blocks = np.zeros(agree.shape, np.uint8)
        self.blocks[agree], self.blocks[changed], self.blocks[moved] = AGREES, CHANGED, MOVED

    def matched_noise(self) -> float:
        """`noise` once B's greys are matched to A's (brightness, contrast, gamma): what is left
        of one exposure re-encoded, or of two moments (a still camera's frames: sensor noise).
        Asked only where it decides (it costs a few milliseconds)."""
        if self.greys is None:
            return 255.0
        return _matched_noise(*self.greys)

    def look_further(self) -> None:
        """A thing that moved further than the flow follows looks changed; it is found nearby in
        the other picture, where an overlay's covered content is not. Asked only where the
        verdict would otherwise be a copy (the search costs what the rest of the check does)."""
        if self._far is None or self._looked:
            return
        self._looked = True
        ref, other, texture_r, _ = self._far
        changed = self.blocks == CHANGED
        far = found_elsewhere(ref, other, changed & (texture_r >= 2 * TEXTURE), self.block)
        if far.any():
            self._tally(self.blocks == AGREES, (self.blocks == MOVED) | far, changed & ~far)

    def displaced_at_least(self, enough: int) -> bool:
        """Whether `enough` changed blocks hold the same thing as another place the pictures
        differ, one in each picture, several blocks of it gone the same way: it moved there
        (people walking past a still camera; an overlay's places hold different things). After
        look_further, and only where nothing cheaper settled the verdict: the search stops once
        `enough` are found (the count only grows with more found), so `displaced` is a count
        that far."""
        if self._far is None:
            return self.displaced >= enough
        self.look_further()
        ref, other, texture_r, texture_o = self._far
        self._far = None
        changed = self.blocks == CHANGED
        if not changed.any():
            return self.displaced >= enough
        found: list[tuple[int, int, float, float]] = []
        there = found_at_another_place(ref, other, changed & (texture_r >= 2 * TEXTURE), changed, self.block)
        back = ((y, x, -dx, -dy) for y, x, dx, dy in  # the way from ref to other
                found_at_another_place(other, ref, changed & (texture_o >= 2 * TEXTURE), changed, self.block))
        for one in itertools.chain(there, back):
            found.append(one)
            self.displaced = int(moved_together(found, TOGETHER * self.block, self.block).sum())
            if self.displaced >= enough:
                break
        return self.displaced >= enough


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel rows [h, 1] and columns [1, w]: added to a field they broadcast to its shape (each
    picture has its own size, so full grids were made afresh for almost every pair)."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _dense(d: np.ndarray, b: int, h: int, w: int) -> np.ndarray:
    """A field given per block ([ny, nx]) as a dense one ([h, w]), interpolated between centres."""
    ny, nx = d.shape
    up = cv2.resize(d, (nx * b, ny * b), interpolation=cv2.INTER_LINEAR)
    return np.asarray(cv2.copyMakeBorder(up, 0, h - up.shape[0], 0, w - up.shape[1], cv2.BORDER_REPLICATE))


def _lk_step(ref: np.ndarray, cur: np.ndarray, b: int, ny: int,
             nx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Lucas-Kanade step per block: the shift of `cur` that best explains `ref`, and for a
    block that does not pin a shift down in both directions (a lone edge says nothing along
    itself), the direction across it (NaN where the block is well posed)."""
    mean = 0.5 * (ref + cur)
    gx = cv2.Sobel(mean, cv2.CV_32F, 1, 0, ksize=3) * 0.125
    gy = cv2.Sobel(mean, cv2.CV_32F, 0, 1, ksize=3) * 0.125
    err = ref - cur
    axx, axy, ayy = block_means(gx * gx, b, ny, nx), block_means(gx * gy, b, ny, nx), block_means(gy * gy, b, ny, nx)
    bx, by = block_means(gx * err, b, ny, nx), block_means(gy * err, b, ny, nx)
    det = axx * ayy - axy * axy
    ok = det > 1e-6
    safe = np.where(ok, det, 1.0)
    dx = np.clip(np.where(ok, (ayy * bx - axy * by) / safe, 0.0), -2, 2).astype(np.float32)
    dy = np.clip(np.where(ok, (axx * by - axy * bx) / safe, 0.0), -2, 2).astype(np.float32)
    half_trace = 0.5 * (axx + ayy)
    root = np.sqrt(np.maximum(half_trace * half_trace - det, 0.0))
    posed = (half_trace - root) >= WELL_POSED * (half_trace + root)  # the eigenvalues' ratio
    # where it is not, the direction across the block's edge: the one a shift can be read along
    angle = 0.5 * np.arctan2(2 * axy, axx - ayy)
    across = np.stack([np.cos(angle), np.sin(angle)], -1).astype(np.float32)
    return dx, dy, np.where(posed[..., None], np.float32(np.nan), across)


def _flow(ref: np.ndarray, other: np.ndarray, block: int,
          ref_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A displacement field f with ref(x) ~ other(x + f(x)), dense ([h, w, 2]) and per block
    ([ny, nx, 2]), and per block the direction across a lone edge (_lk_step): Lucas-Kanade
    solved per block, two steps at half resolution, then one at full, interpolated between the
    blocks' centres. It follows what matters here (a few pixels,
    sub-pixel precise) at a fraction of the cost of a general optical flow (OpenCV's DIS: the
    same verdicts on the calibration pairs, measured); larger motion is found by look_further."""
    h, w = ref.shape
    ny, nx = h // block, w // block
    fx, fy = np.zeros((ny, nx), np.float32), np.zeros((ny, nx), np.float32)
    if ny == 0 or nx == 0:
        return np.zeros((h, w, 2), np.float32), np.zeros((ny, nx, 2), np.float32), np.zeros((ny, nx, 2), np.float32)
    half = block // 2
    hh, wh = h // 2, w // 2
    ref_h = cv2.resize(ref, (wh, hh), interpolation=cv2.INTER_AREA) if ref_h is None else ref_h
    other_h = cv2.resize(other, (wh, hh), interpolation=cv2.INTER_AREA)
    yy, xx = _grid(hh, wh)
    for step in range(2):  # the blocks of the half picture are the same blocks, half the size
        cur = other_h if step == 0 else cv2.remap(other_h, xx + _dense(fx, half, hh, wh), yy + _dense(fy, half, hh, wh),
                                                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        dx, dy, _ = _lk_step(ref_h, cur, half, ny, nx)
        fx, fy = fx + dx, fy + dy
    fx, fy = 2 * fx, 2 * fy
    yy, xx = _grid(h, w)
    dense_x, dense_y = _dense(fx, block, h, w), _dense(fy, block, h, w)
    cur = cv2.remap(other, xx + dense_x, yy + dense_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dx, dy, across = _lk_step(ref, cur, block, ny, nx)
    fx, fy = fx + dx, fy + dy
    return np.stack([_dense(fx, block, h, w), _dense(fy, block, h, w)], 2), np.stack([fx, fy], 2), across


def _lcn(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local contrast normalisation (what survives recolouring, brightness and contrast), and
    the detail it normalised (how much texture there is to compare)."""
    f = cv2.GaussianBlur(f, (0, 0), 0.7)
    d = f - cv2.GaussianBlur(f, (0, 0), 3.0)
    return d / (np.sqrt(cv2.GaussianBlur(d * d, (0, 0), 3.0)) + 4.0), np.abs(d)


def block_for(h: int, w: int) -> int:
    """Blocks of 16 at the records' 384 px, of 8 for a thumbnail (enough of them to judge)."""
    return BLOCK if min(h, w) >= 12 * BLOCK else BLOCK // 2


def box_mask(p: Pixels) -> np.ndarray:
    m = np.zeros(p.grey.shape, np.uint8)
    left, top, right, bottom = p.box
    m[top:bottom, left:right] = 1
    return m


def _affine_fit(flow: np.ndarray, across: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                use: np.ndarray) -> np.ndarray:
    """[3, 2]: the affine flow field closest to the blocks' flow (reweighted least squares: the
    moving parts of a burst must not drag it). A well-posed block constrains both parts of the
    field; a lone edge only the part across it (its shift along itself is noise)."""
    if use.sum() < 6:
        return np.zeros((3, 2))
    x, y = cx[use], cy[use]
    d, n = flow[use], across[use]
    edge = ~np.isnan(n[:, 0])
    one, zero = np.ones(len(x)), np.zeros(len(x))
    # unknowns: the field's x part (3) and y part (3); rows: x and y for a posed block, n . (x, y) for an edge
    rows_x = np.stack([x, y, one, zero, zero, zero], 1)
    rows_y = np.stack([zero, zero, zero, x, y, one], 1)
    nx_, ny_ = np.nan_to_num(n[:, 0]), np.nan_to_num(n[:, 1])
    rows_n = rows_x * nx_[:, None] + rows_y * ny_[:, None]
    a = np.concatenate([rows_x[~edge], rows_y[~edge], rows_n[edge]])
    b = np.concatenate([d[~edge, 0], d[~edge, 1], (d[edge] * np.stack([nx_, ny_], 1)[edge]).sum(1)])
    if len(a) < 6:
        return np.zeros((3, 2))
    weights = np.ones(len(a))
    p = np.zeros(6)
    for _ in range(4):
        sw = np.sqrt(weights)
        p = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)[0]
        weights = 1 / np.maximum(np.abs(a @ p - b), 0.3)
    return np.stack([p[:3], p[3:]], 1)


def _coverage(p: Pixels, onto: Matrix, shape: tuple[int, int]) -> float:
    """The share of p's picture (content box) that lands inside a picture of `shape` under
    `onto`: a crop lies wholly inside its original, two different crops only partly."""
    left, top, right, bottom = p.box
    step = max(1, min(right - left, bottom - top) // 48)
    ys, xs = np.mgrid[top:bottom:step, left:right:step]
    pts = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5, np.ones(xs.size)], 1) @ onto.T
    h, w = shape
    return float(((pts[:, 0] >= -0.5) & (pts[:, 0] <= w + 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] <= h + 0.5)).mean())


def worst_block(diff: np.ndarray, block: int, ny: int, nx: int, inside: np.ndarray | None = None) -> float:
    """The largest mean of `diff` over a block, the blocks laid from each corner of the picture in
    turn: from the top left alone, a 16:9 record's last 8 rows were in no block (a date stamp or
    a caption there went unseen), and a small photo's two other corners (a logo); `inside`, where
    the picture is, per pixel (blocks wholly in it count). No block at all: nothing is proven
    the same (255)."""
    h, w = diff.shape
    worst = -1.0
    for top in sorted({0, h - ny * block}):
        for left in sorted({0, w - nx * block}):
            rows, cols = slice(top, top + ny * block), slice(left, left + nx * block)
            means = block_means(diff[rows, cols], block, ny, nx)
            if inside is not None:
                means = means[block_means(inside[rows, cols], block, ny, nx) >= 0.999]
            if means.size:
                worst = max(worst, float(means.max()))
    return worst if worst >= 0 else 255.0


def _matched_noise(ref: np.ndarray, other: np.ndarray) -> float:
    """The median difference once `other`'s greys are put on `ref`'s by the curve that maps them
    (a brightened, darkened, contrast- or gamma-changed copy differs in greys, not in moment): for
    each grey of `other`, the median difference of the pixels of about that grey, followed
    between greys. Medians, so that a caption or a logo does not set the curve; a grey too rare to
    tell keeps its neighbours' part. Never more than the difference without the curve. Greys
    clipped black or white in either picture are left out: a blown-out sky is the same 255 in two
    frames, and half a picture of it made two moments a copy (a reviewer's find); nearly all
    clipped, nothing tells the moments apart (255: not proven one exposure)."""
    unclipped = (np.minimum(ref, other) > 4) & (np.maximum(ref, other) < 251)
    if unclipped.sum() < 100:
        return 255.0
    ref, other = ref[unclipped], other[unclipped]
    diff = ref - other
    raw = float(np.median(np.abs(diff)))
    at = (other // GREY_STEP).astype(np.int32)  # unclipped: within 4..251
    # each part's median from one sort, by part and then difference (differences lie within
    # +-255: apart by 1024 a part, exactly, in float64): a median per part was most of the cost
    counts = np.bincount(at)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = np.flatnonzero(counts >= 20)
    if parts.size == 0:
        return raw
    ranked = np.sort(at * 1024.0 + diff) - np.repeat(np.arange(len(counts)) * 1024.0, counts)
    n, first = counts[parts], starts[parts]
    offsets = (ranked[first + (n - 1) // 2] + ranked[first + n // 2]) / 2
    centres = np.bincount(at, weights=other, minlength=len(counts))[parts] / n  # the part's mean grey
    return min(raw, float(np.median(np.abs(diff - np.interp(other, centres, offsets)))))


def block_means(img: np.ndarray, block: int, ny: int, nx: int) -> np.ndarray:
    """Each block's mean (exact: the blocks tile the cropped picture)."""
    return np.asarray(cv2.resize(np.ascontiguousarray(img[:ny * block, :nx * block]), (nx, ny),
                                 interpolation=cv2.INTER_AREA), np.float32)


def block_moments(x: np.ndarray, block: int, ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Each block's mean of x and of its square: x's half of block_ncc."""
    return block_means(x, block, ny, nx), block_means(x * x, block, ny, nx)


def block_ncc(x: np.ndarray, y: np.ndarray, block: int, ny: int, nx: int,
              x_moments: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each block's normalised correlation of x and y, from block moments (no per-block loop);
    `x_moments`: block_moments(x, ...), when x is a record's own and met again (own_blocks)."""
    mx, mxx = block_moments(x, block, ny, nx) if x_moments is None else x_moments
    my = block_means(y, block, ny, nx)
    cov = block_means(x * y, block, ny, nx) - mx * my
    vx = mxx - mx * mx
    vy = block_means(y * y, block, ny, nx) - my * my
    return np.asarray(cov / (np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0)) + 1e-6), np.float32)


def own(p: Pixels) -> dict[str, np.ndarray]:
    """What comparing against this record needs of it alone, worked out once per record."""
    got = p.derived.get("residual")
    if got is None:
        base = p.grey.astype(np.float32)
        n, detail = _lcn(base)
        h, w = base.shape
        block = block_for(h, w)
        size = (w // block * block // 2, h // block * block // 2)
        got = {"base": base, "n": n, "detail": detail, "mid": cv2.GaussianBlur(n, (0, 0), 1.2),
               "coarse": cv2.resize(cv2.GaussianBlur(n, (0, 0), 2.2), size, interpolation=cv2.INTER_AREA),
               "smooth": cv2.GaussianBlur(base, (0, 0), 1.0),
               "n_half": cv2.resize(n, (w // 2, h // 2), interpolation=cv2.INTER_AREA)}
        p.derived["residual"] = got  # two threads may both work it out: the same result either way
    return got


@dataclass(frozen=True)
class OwnBlocks:
    """What a record compared in its own frame needs per block (own_blocks)."""
    texture: np.ndarray
    mid: tuple[np.ndarray, np.ndarray]  # block_moments of own()["mid"]
    coarse: tuple[np.ndarray, np.ndarray]  # ... of own()["coarse"], in half-size blocks


def own_blocks(p: Pixels) -> OwnBlocks:
    """Worked out once per record (a centre meets a dozen copies): its texture, and its half of
    the two block correlations."""
    got = p.derived.get("residual_blocks")
    if got is None:
        mine = own(p)
        h, w = p.grey.shape
        block = block_for(h, w)
        ny, nx = h // block, w // block
        got = OwnBlocks(block_means(mine["detail"], block, ny, nx), block_moments(mine["mid"], block, ny, nx),
                        block_moments(mine["coarse"], block // 2, ny, nx))
        p.derived["residual_blocks"] = got  # as own: the same result from any thread
    return got


def compare_aligned(a: Pixels, b: Pixels, m: Matrix) -> Residual:
    """Compare A with B put onto it by `m` (B's pixels -> A's)."""
    swap = scale_of(m) > 1.02  # B is the coarser picture: compare in its frame (else in A's: its work is kept)
    ref, other, to_ref = (b, a, invert(m)) if swap else (a, b, m)
    s = min(scale_of(to_ref), 1.0)
    src: np.ndarray = other.grey.astype(np.float32)
    if s < 0.7:  # shrinking the finer picture: smooth it first, or its detail aliases into noise
        src = np.asarray(cv2.GaussianBlur(src, (0, 0), 0.45 / s))
    h, w = ref.grey.shape
    block = block_for(h, w)
    ny, nx = h // block, w // block
    warped = cv2.warpAffine(src, to_ref, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(box_mask(other), to_ref, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    valid = (inside > 0) & (box_mask(ref) > 0)
    cov_ref = _coverage(ref, invert(to_ref), other.grey.shape)
    cov_other = _coverage(other, to_ref, ref.grey.shape)

    mine = own(ref)
    base, nr, detail_r = mine["base"], mine["n"], mine["detail"]
    no, detail_o = _lcn(warped)
    flow, block_flow, across = _flow(nr, no, block, mine["n_half"])  # base(x) ~ warped(x + flow(x))
    yy, xx = _grid(h, w)
    inner = cv2.erode(valid.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(np.float32)
    whole_block = block_means(inner, block, ny, nx) >= 0.999
    blocks_r = own_blocks(ref)
    texture_r, texture_o = blocks_r.texture, block_means(detail_o, block, ny, nx)
    informative = whole_block & (np.maximum(texture_r, texture_o) >= TEXTURE)
    mid_ref = mine["mid"]

    def ncc_after(fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
        moved_other = cv2.remap(no, xx + fx, yy + fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return block_ncc(mid_ref, cv2.GaussianBlur(moved_other, (0, 0), 1.2), block, ny, nx, blocks_r.mid)

    along_flow = ncc_after(flow[..., 0], flow[..., 1])
    cy, cx = (np.mgrid[0:ny, 0:nx].astype(np.float64) + 0.5) * block
    fit = _affine_fit(block_flow, across, cx, cy, informative & (along_flow >= AGREE)).astype(np.float32)
    fx = fit[0, 0] * xx + fit[1, 0] * yy + fit[2, 0]
    fy = fit[0, 1] * xx + fit[1, 1] * yy + fit[2, 1]
    along_fit = ncc_after(fx, fy)
    fitted_other = cv2.remap(warped, xx + fx, yy + fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # heavy recompression smears the finest structure: a block is changed only if the coarser
    # structure disagrees too (an overlay or a logo disagrees at every scale)
    n_fitted = cv2.remap(no, xx + fx, yy + fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # coarse structure at half resolution: what a 2.5-pixel blur keeps, for a quarter of the work
    half_o = cv2.resize(cv2.GaussianBlur(n_fitted, (0, 0), 2.2), (nx * block // 2, ny * block // 2),
                        interpolation=cv2.INTER_AREA)
    coarse = block_ncc(mine["coarse"], np.asarray(half_o), block // 2, ny, nx, blocks_r.coarse)
    centres = np.stack([cx.ravel(), cy.ravel(), np.ones(cx.size)], 1)
    off = block_flow - (centres @ fit).reshape(ny, nx, 2)
    # along a lone edge only the shift across it is known: that part alone counts
    # (resampling moves a sharp edge by a fraction of a pixel: across an edge, twice the shift counts)
    departure = np.where(np.isnan(across[..., 0]), np.linalg.norm(off, axis=2),
                         np.abs(np.nan_to_num((off * across).sum(axis=2))) / EDGE_SHIFT)
    # motion is measured where both pictures have detail: a near-flat block (a blurred sky, a
    # background washed out by recolouring) gives the flow nothing to hold on to, and a lone edge
    # (a drawing, a building's outline) only the shift across it
    moved = (informative & (np.minimum(texture_r, texture_o) >= 2 * TEXTURE) & (along_flow >= AGREE)
             & (departure >= MOVE_PX) & (along_flow - along_fit >= MOVE_GAIN))
    agree = informative & ((along_fit >= AGREE) | (coarse >= COARSE_AGREE)) & ~moved
    changed = informative & ~agree & ~moved
    # where something was added (an overlay's edges), the flow drags content along: moved blocks
    # touching changed ones are not counted as motion
    moved &= ~(cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)

    # the flow's affine correction folded into the alignment: x in ref -> x + fit(x) in the warped other
    correction = np.array([[1 + fit[0, 0], fit[1, 0], fit[2, 0]], [fit[0, 1], 1 + fit[1, 1], fit[2, 1]]], np.float64)
    to_ref_refined = compose(invert(correction), to_ref)
    refined = invert(to_ref_refined) if swap else to_ref_refined
    smooth_other = cv2.GaussianBlur(fitted_other, (0, 0), 1.0)
    smooth_diff = np.abs(mine["smooth"] - smooth_other)
    inner_b = inner > 0
    greys: tuple[np.ndarray, np.ndarray] | None = None
    noise, mean_r, mean_o = 255.0, 0.0, 0.0
    if inner_b.any():
        greys = (mine["smooth"][inner_b][::7], smooth_other[inner_b][::7])  # a sample is enough for medians
        noise = float(np.median(np.abs(greys[0] - greys[1])))
        mean_r, mean_o = float(base[inner_b].mean()), float(warped[inner_b].mean())
    worst = worst_block(smooth_diff, block, ny, nx, inner)
    worst_frame = worst_block(smooth_diff, block, ny, nx) if a.grey.shape == b.grey.shape else 255.0
    gain = (mean_o + 1) / (mean_r + 1)
    frame_to_a, frame_to_b = (m, np.eye(3)[:2]) if swap else (np.eye(3)[:2], invert(m))
    r = Residual(
        coverage_a=cov_other if swap else cov_ref, coverage_b=cov_ref if swap else cov_other,
        informative=int(informative.sum()), agree=0.0, moved=0.0, changed=0.0, cluster=0,
        blocks=np.zeros((ny, nx), np.uint8), frame_to_a=frame_to_a, frame_to_b=frame_to_b, refined=refined,
        gain=1 / gain if swap else gain, noise=noise,
        worst=worst, block=block, worst_frame=worst_frame, greys=greys)
    r._tally(agree, moved, changed)
    r.coarse = coarse
    r._far = (nr, n_fitted, texture_r, texture_o)
    r.detail = (detail_r, detail_o)
    return r
