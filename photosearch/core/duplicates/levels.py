"""What each level of duplicates asks of a pair, in one place for grouping and Compare.

- identical: the same bytes, or the same pixels up to re-encoding (verify.py);
- copies: an edited copy, proven in pixels;
- similar: a copy, or a burst or retake. Where both photos have a capture time, the times decide:
  the same camera within BURST_SECONDS is a burst whatever the pixels say (a person moved, the
  light changed); far apart in time only a copy counts (another day, a stranger's photo of the
  same monument). Without capture times on both, the pixels must show the same view: much of
  both pictures overlapping and agreeing, things moved (verify.py's "same view").
"""

from __future__ import annotations

from .pairs import FLOOR
from .verify import COPY, IDENTICAL, SAME_VIEW

LEVELS = ("identical", "copies", "similar")
NEEDS = {"identical": IDENTICAL, "copies": COPY, "similar": SAME_VIEW}
# the look-alike score a pair needs to be looked at, per level: identical pictures score ~1
CANDIDATE = {"identical": 0.9, "copies": FLOOR, "similar": FLOOR}
BURST_SECONDS = 10 * 60  # bursts are seconds apart, retakes of one view minutes


def required(level: str, taken: tuple[float | None, float | None], cameras: tuple[str, str],
             same_bytes: bool) -> int | None:
    """The verdict a pair's pixels must reach to be at `level`; None: it is there without them."""
    need = NEEDS[level]
    if same_bytes:
        return None
    ta, tb = taken
    if need >= COPY or ta is None or tb is None:
        return need
    if abs(ta - tb) > BURST_SECONDS:
        return COPY  # another moment: only a copy brings them together
    same_camera = not (cameras[0] and cameras[1] and cameras[0] != cameras[1])
    return None if same_camera else need


def level_of(verdict: int, score: float, taken: tuple[float | None, float | None], cameras: tuple[str, str],
             same_bytes: bool) -> str:
    """The highest level a pair reaches (Compare's answer), or "different"."""
    for level in LEVELS:
        need = required(level, taken, cameras, same_bytes)
        if (need is None and (same_bytes or score >= CANDIDATE[level])) or (need is not None and verdict >= need):
            return level
    return "different"
