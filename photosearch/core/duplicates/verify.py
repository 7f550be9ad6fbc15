"""A copy is a claim about pixels: the verdict on a pair of photos, and the evidence for it.

The model's scores choose which pairs to look at; this decides what they are, from the pixel
records (vision/pixels.py): alignment.py finds where one picture sits in the other, residual.py
says where the aligned pictures agree, where content moved and where it changed.

- identical: the same framing, the same pixels up to re-encoding, everywhere;
- copies: one picture lies wholly inside the other (coverage of the smaller one) under one
  similarity transform, their structure agrees over most of it, and nothing moved: disagreement
  only where content was added or taken away (an overlay, a frame, a crop);
- same view: much of both pictures overlaps and agrees, but things moved (a burst, a retake, the
  camera nudged): the pixel half of the "similar" level (grouping adds what capture times say);
- different: no alignment explains the pair (another visitor's photo, another viewpoint, two
  different crops of one photo, only the same subject).

The lines below were calibrated on edited copies of ImageNet photos and on real bursts, stereo
pairs and viewpoint changes (benchmarks/duplicates.py and docs/duplicates.md), and checked on
others held aside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..vision.pixels import Pixels
from .alignment import WHOLE_ENOUGH, Alignment, FeatureCache, align, invert, scale_of
from .places import place_counts
from .residual import TEXTURE, Residual, block_for, block_means, block_ncc, box_mask, compare_aligned, own, worst_block

DIFFERENT, SAME_VIEW, COPY, IDENTICAL = 0, 1, 2, 3
VERDICT_NAMES = {DIFFERENT: "different", SAME_VIEW: "same view", COPY: "copy", IDENTICAL: "identical"}

QUICK_REJECT = 0.45  # the quick look's correlation below which no copy or burst was ever seen (<= 0.81)
FLAT = 3.0  # grey levels of spread below which a picture is blank (a page, a sky, a black frame)
TOO_FLAT = "too little detail in the pictures to prove they are the same"
# a record thinner than a thumbnail's block (a banner 100 times as wide as it is high, an icon of
# a few pixels) has no block to compare: too small to prove anything (it made OpenCV fail)
MIN_SIDE = 8
TOO_SMALL = "a picture too small (or too thin) to prove they are the same"
MIN_BLOCKS = 8  # fewer textured blocks than this prove nothing (a blank page, a clear sky)
COPY_COVERAGE = 0.85  # the smaller picture lies (almost) wholly inside the other
# ... and all of it but this share, unless what lies outside is a flat fill (the corners of a
# picture turned by a few degrees): two crops of one photo shifted against each other each hold
# a strip the other lacks, and at 84-92 % overlap they passed the 0.85 line as copies (a
# reviewer's find). True copies of both benchmark libraries: 0.98 at least (4,432 pairs)
WHOLLY = 0.97
# ... a fill: this share of what lies outside is one grey (within 2 FLAT of their median). Measured
# on 16 photos turned by 2-10 degrees, corners filled black or white: the fill 0.991 at least; a
# strip of the picture left out of the other (88-92 % crops, turned-out corners): 0.86 at most
FILL = 0.95
COPY_AGREE = 0.6
COPY_MOVED = 0.03  # share of blocks; ...
COPY_CLUSTER = 5  # ... or this many moved blocks side by side: a thing that moved, not noise (copies: <= 4)
COPY_DISPLACED = 2  # ... or this many blocks' content found at another place the pictures differ
CLOSER = 1.25  # a picture inside the other with this many times its pixels along a side is a closer shot
ADDED = 0.02  # share of changed blocks at which a copy is one "with something added" (text, a logo)
COPY_CHANGED = 0.4  # an overlay, a logo, a watermark covers at most this much (heavy recompression: <= 0.34)
# ... in this many separate places (of 2 blocks or more): things came and went all over the picture
# (people walking past a still camera). Measured on the benchmark's held-out edits and frames of
# OpenCV's vtest (a still street, 4 s to 80 s apart): 4 of 188 overlays and 0 of 50 heavy
# recompressions reach 5 places, 92 of 158 frame pairs that would be copies do (at 4: 12, 0, 129)
COPY_PLACES = 5
# ... unless every place was drawn (a flat fill: a logo, a sticker; places.py) and everywhere else
# the pictures are the same pixels, re-encoded finely at most (median difference of the smoothed
# pixels <= this): a watermark tiled over a photo. Not for things that moved or were photographed:
# at 384 px a still camera's clean frames are as untouched (a 12 MP frame's sensor noise averages
# out to 0.26; a rendered scene has none). Drawn after looking at held-out misses
UNTOUCHED = 0.4
COPY_PHOTOGRAPHED = 3  # ... or this many places that hold what a camera sees, not drawn (places.py)
# ... or two such places, every place photographed (none drawn), where the rest of the pictures
# differs by more than one exposure re-encoded: the median difference of the smoothed pixels,
# greys matched (Residual.matched_noise), above this. Two frames of a still camera with one
# person gone and another come (no capture time to tell). An overlay leaves the rest re-encoded:
# <= 0.61 on the benchmark's 258 overlays where a place looks photographed; frames of a still
# street or a tree: 0.65 at the 5th percentile. Checked on held-out frames (vtest at other
# offsets) and captions on the 150 calibration photos (benchmarks/duplicates_heldout.py): frame
# pairs at copies 28 -> 16 of 219, captions at copies 709 -> 699 of 750 (one on a heavy
# recompression can be 'similar' then)
OTHER_MOMENT = 0.7
VIEW_COVERAGE = 0.5
VIEW_MATCH = 0.5  # blocks that agree or moved (the same content in both)
IDENTICAL_AGREE = 0.97
IDENTICAL_NOISE = 0.6  # median absolute difference (smoothed grey levels): re-encoding, not an edit
IDENTICAL_WORST = 3.0  # ... and in no block more than this on average: nothing moved, nothing added
# identical without the close look (no flow, no block structure) only when no block differs by
# more than this: re-encodes of the benchmark reach 1.46 (99th percentile of 1,191), while a heavy
# recompression and a patch nudged by a pixel that the close look calls a copy or another shot
# sat at 2.2 to 2.4; between the two the close look decides
QUICK_IDENTICAL_WORST = 1.5
# ... and every textured block's structure correlates at least this much (the close look's
# 'agree', before any flow): a dim burst differs by a few grey levels only, but in structure
# (real bursts at low contrast: least block 0.74-0.86); 98 % of the benchmark's re-encodes
# reach it, the rest take the close look
QUICK_STRUCTURE = 0.9


@dataclass
class Evidence:
    verdict: int
    reason: str
    alignment: Alignment | None = None
    residual: Residual | None = None
    facts: dict[str, float] = field(default_factory=dict)  # the numbers behind the verdict

    @property
    def name(self) -> str:
        return VERDICT_NAMES[self.verdict]

    def summary(self) -> str:
        """What is stored with a pair (a few numbers and the words), as JSON."""
        return json.dumps({"reason": self.reason, **{k: round(v, 3) for k, v in self.facts.items()}},
                          ensure_ascii=False)


def _edits(al: Alignment, r: Residual, a: Pixels, b: Pixels) -> list[str]:
    """What was done to one picture to make the other, in words."""
    out = []
    s = scale_of(r.refined)
    if al.turns % 4 or abs(np.degrees(np.arctan2(r.refined[1, 0], r.refined[0, 0]))) > 2 and not al.mirrored:
        out.append("turned")
    if al.mirrored:
        out.append("mirrored")
    if min(r.coverage_a, r.coverage_b) < 0.93:
        out.append("cropped")
    if abs(s - 1) > 0.03:
        out.append("resized")
    framed = [p for p in (a, b) if (p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) < 0.93 * p.width * p.height]
    if len(framed) == 1:
        out.append("framed (or in a screenshot)")
    if abs(r.gain - 1) > 0.08:
        out.append("recoloured")
    if r.changed >= ADDED:
        out.append("with something added (text, a logo)")
    return out or ["re-encoded"]


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _moves_nothing(m: np.ndarray, w: int, h: int) -> bool:
    """Every corner of the picture stays within a pixel: the same framing."""
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    return bool(np.abs(corners @ m.T - corners[:, :2]).max() < 1.0)


def _closer(a: Pixels, b: Pixels, r: Residual) -> bool:
    """One picture lies inside the other (as a crop would) but holds that part in more of the
    photo's own pixels than the other: a crop never adds detail, a closer shot does (a painting
    photographed on its own, and again in the room that holds it)."""
    a_inside, b_inside = r.coverage_a >= COPY_COVERAGE, r.coverage_b >= COPY_COVERAGE
    if a_inside == b_inside:
        return False  # the whole of each in the other (resized, framed) or neither
    density = scale_of(r.refined) * a.detail / b.detail  # A's own pixels per B's, over what they share
    return density > CLOSER if a_inside else 1 / density > CLOSER


def _left_out_is_fill(p: Pixels, other: Pixels, onto_p: np.ndarray) -> bool:
    """Whether the part of p's picture the other does not cover is a fill of one colour (the
    corners a turn left), or a sliver too thin to hold anything once its edge is set aside (the
    alignment places an edge to a pixel or two). `onto_p` maps the other's pixels to p's."""
    # the other's whole frame, as coverage is measured: a flat band outside its content box is
    # still there (turned with the picture, it lies in p's box)
    inside = cv2.warpAffine(np.ones_like(other.grey), onto_p, (p.width, p.height), flags=cv2.INTER_NEAREST,
                            borderValue=0)
    left_out = (box_mask(p) > 0) & (inside == 0)
    # the edge between is neither: a turn's resampling and JPEG's 8-pixel blocks blur it into both
    core = cv2.erode(left_out.astype(np.uint8), np.ones((17, 17), np.uint8)) > 0
    if int(core.sum()) < 20:
        return True
    greys = p.grey[core].astype(np.float32)
    return float((np.abs(greys - np.median(greys)) <= 2 * FLAT).mean()) >= FILL


def _cut_both(a: Pixels, b: Pixels, r: Residual) -> bool:
    """Each picture holds a part the other lacks, beyond a sliver or a fill: overlapping crops of
    one photo, not one a copy of the other (which lies wholly inside it)."""
    if max(r.coverage_a, r.coverage_b) >= WHOLLY:
        return False
    b_onto_a = r.refined
    return not any(_left_out_is_fill(p, other, m) for p, other, m, cov in
                   ((a, b, b_onto_a, r.coverage_a), (b, a, invert(b_onto_a), r.coverage_b)) if cov >= COPY_COVERAGE)


def judge(a: Pixels, b: Pixels, al: Alignment, r: Residual) -> Evidence:
    facts = {"coverage_a": r.coverage_a, "coverage_b": r.coverage_b, "agree": r.agree, "moved": r.moved,
             "changed": r.changed, "cluster": float(r.cluster), "blocks": float(r.informative),
             "inliers": float(al.inliers), "noise": r.noise, "worst": r.worst}
    ev = Evidence(DIFFERENT, "", al, r, facts)
    inside = max(r.coverage_a, r.coverage_b)
    if r.informative < MIN_BLOCKS:
        ev.reason = TOO_FLAT
        return ev
    moved = r.moved >= COPY_MOVED or r.cluster >= COPY_CLUSTER
    closer = _closer(a, b, r)
    if closer and inside >= COPY_COVERAGE and r.agree >= COPY_AGREE:
        ev.reason = "a closer photo of part of the other: it holds more detail there than the other has"
        return ev
    places = photographed = 0
    two_moments = False
    if inside >= COPY_COVERAGE and r.agree >= COPY_AGREE and not moved and r.changed <= COPY_CHANGED:
        r.look_further()  # would be a copy: is what looks changed something that moved far?
        places, photographed = place_counts(r)
        # many places are an edit only where each was drawn and the rest is untouched
        drawn_on_untouched = photographed == 0 and r.noise <= UNTOUCHED
        two_places = photographed >= 2 and places == photographed  # every place photographed, none drawn
        matched = r.matched_noise() if two_places else 0.0
        two_moments = two_places and matched > OTHER_MOMENT
        # the cheap tests first: the search for displaced things is most of a burst's verification
        moved = (r.moved >= COPY_MOVED or r.cluster >= COPY_CLUSTER or photographed >= COPY_PHOTOGRAPHED
                 or two_moments or (places >= COPY_PLACES and not drawn_on_untouched))
        facts.update(agree=r.agree, moved=r.moved, changed=r.changed, cluster=float(r.cluster),
                     places=float(places), photographed=float(photographed))
        if not moved:
            moved = r.displaced_at_least(COPY_DISPLACED)
            facts["displaced"] = float(r.displaced)  # worked out only here (up to enough to decide)
        if two_places:
            facts["matched"] = matched
    cut_both = (inside >= COPY_COVERAGE and r.agree >= COPY_AGREE and not moved and r.changed <= COPY_CHANGED
                and _cut_both(a, b, r))
    if inside >= COPY_COVERAGE and r.agree >= COPY_AGREE and not moved and r.changed <= COPY_CHANGED and not cut_both:
        same_frame = (a.grey.shape == b.grey.shape and _moves_nothing(r.refined, a.width, a.height)
                      and _same_size(a, b))
        if (same_frame and r.agree >= IDENTICAL_AGREE and r.changed <= 0.01 and r.noise <= IDENTICAL_NOISE
                and max(r.worst, r.worst_frame) <= IDENTICAL_WORST):
            ev.verdict, ev.reason = IDENTICAL, "the same picture: the same pixels, re-encoded at most"
        else:
            ev.verdict, ev.reason = COPY, "an edited copy: " + _words(_edits(al, r, a, b))
        return ev
    if min(r.coverage_a, r.coverage_b) >= VIEW_COVERAGE and r.agree + r.moved >= VIEW_MATCH:
        ev.verdict = SAME_VIEW
        ev.reason = (f"overlapping crops of one picture: each holds a part the other lacks (they share "
                     f"{r.coverage_a:.0%} and {r.coverage_b:.0%})" if cut_both else
                     f"another shot of the same scene: things came and went in {places} places"
                     if places >= COPY_PLACES or photographed >= COPY_PHOTOGRAPHED or two_moments else
                     "another shot of the same scene: things moved" if moved else
                     "another shot of the same scene: it differs in places")
        return ev
    if inside < COPY_COVERAGE and r.agree >= COPY_AGREE and not moved:
        ev.reason = (f"different parts of one picture: they share {min(r.coverage_a, r.coverage_b):.0%} "
                     "of the smaller one")
    elif moved and r.agree + r.moved >= VIEW_MATCH:
        ev.reason = "different shots: the scene is seen from elsewhere or things moved"
    else:
        ev.reason = "different pictures: no alignment of one onto the other explains them"
    return ev


def _same_size(a: Pixels, b: Pixels) -> bool:
    """The photos themselves are one size (records from a reduced decode look alike either way)."""
    return not (all(a.full) and all(b.full)) or a.full == b.full


def _the_same_pixels(a: Pixels, b: Pixels, al: Alignment) -> Evidence | None:
    """A re-encode needs no close look: the same size, the same framing, and every block within
    re-encoding noise of the other as they stand (checked before anything costlier). The pixels
    are the proof, not the quick look: its resampling puts even the very same pixels at 0.88 to
    0.99 (on the benchmark it once gated this, and 170 of 200 re-encodes took the long way)."""
    if (a.grey.shape != b.grey.shape or a.box != b.box or al.source != "whole" or al.turns or al.mirrored
            or not _moves_nothing(al.matrix, a.width, a.height)):
        return None
    block = block_for(a.height, a.width)
    ny, nx = a.height // block, a.width // block
    # a block whose mean grey moved by more than this stays above the limit once smoothed (a
    # recoloured copy, another picture: 92 % of the benchmark's same-size copies, no re-encode
    # above 1.7): nothing more to work out for the quick proof
    if float(np.abs(block_means(a.grey.astype(np.float32) - b.grey, block, ny, nx)).max()) > QUICK_IDENTICAL_WORST + 1:
        return None
    mine, theirs = own(a), own(b)
    # as judge asks: too few blocks with detail prove nothing (two dark frames, a blank page)
    texture = block_means(np.maximum(mine["detail"], theirs["detail"]), block, ny, nx)
    textured_blocks = texture >= TEXTURE
    textured = int(textured_blocks.sum())
    if textured < MIN_BLOCKS:
        return None
    if float(block_ncc(mine["mid"], theirs["mid"], block, ny, nx)[textured_blocks].min()) < QUICK_STRUCTURE:
        return None
    diff = np.abs(mine["smooth"] - theirs["smooth"])
    worst = worst_block(diff, block, ny, nx)
    noise = float(np.median(diff[::7]))
    if noise > IDENTICAL_NOISE or worst > QUICK_IDENTICAL_WORST:
        return None
    return Evidence(IDENTICAL, "the same picture: the same pixels, re-encoded at most", al, None,
                    {"coverage_a": 1.0, "coverage_b": 1.0, "agree": 1.0, "moved": 0.0, "changed": 0.0,
                     "blocks": float(textured), "noise": noise, "worst": worst})


def _closest_look(a: Pixels, b: Pixels, found: list[Alignment], best: Evidence | None) -> Evidence | None:
    """The best verdict of these alignments (or `best`), a copy ending the search."""
    for al in found:
        if al.quick < max(QUICK_REJECT, found[0].quick - 0.2):
            continue  # coarsely the aligned pictures disagree, or far less than the best way: not worth a close look
        ev = judge(a, b, al, compare_aligned(a, b, al.matrix))
        if best is None or (ev.verdict, ev.facts["agree"]) > (best.verdict, best.facts["agree"]):
            best = ev
        if best.verdict >= COPY:
            break
    return best


def verify(a: Pixels, b: Pixels, cache: FeatureCache | None = None, keys: tuple[int, int] = (-1, -2)) -> Evidence:
    """The verdict on two pixel records, with its evidence (the best of a few alignments)."""
    if min(a.grey.shape + b.grey.shape) < MIN_SIDE:
        if a.box == b.box and np.array_equal(a.grey, b.grey):  # the very same pixels need no blocks
            one_size = _same_size(a, b)
            return Evidence(IDENTICAL if one_size else COPY,
                            "the same picture: the same pixels" if one_size else "an edited copy: resized",
                            facts={"coverage_a": 1.0, "coverage_b": 1.0, "agree": 1.0, "noise": 0.0, "worst": 0.0})
        return Evidence(DIFFERENT, TOO_SMALL)
    best: Evidence | None = None
    found = align(a, b, cache, keys)
    same = found and _the_same_pixels(a, b, found[0])
    if same and not _same_size(a, b):  # the same picture at 384 px, but one photo holds it smaller
        same.verdict, same.reason = COPY, "an edited copy: resized"
    if same:
        return same
    best = _closest_look(a, b, found, None)
    if (best is not None and best.verdict < COPY and found[0].quick >= WHOLE_ENOUGH
            and all(al.source == "whole" for al in found)):
        # a picture cut a little at its edges fits the other's box well enough to mislead: its
        # keypoints say where it really sits
        best = _closest_look(a, b, align(a, b, cache, keys, points=True), best)
    if best is not None:
        return best
    if min(float(a.grey.std()), float(b.grey.std())) < FLAT:
        return Evidence(DIFFERENT, TOO_FLAT)
    return Evidence(DIFFERENT, "different pictures: no alignment of one onto the other explains them")
