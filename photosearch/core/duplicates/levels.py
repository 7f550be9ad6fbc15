"""What each level of duplicates asks of a pair, in one place for grouping and Compare.

- identical: the same pixels up to re-encoding (verify.py; byte copies too, quickly: equal
  fingerprints prove nothing, they read only the ends of a file);
- copies: an edited copy, proven in pixels;
- similar: a copy, or a burst or retake. Where both photos have a capture time, the times decide:
  one camera, known on both, within BURST_SECONDS is a burst whatever the pixels say (a person
  moved, the light changed); further apart only a copy counts (another day, a stranger's photo
  of the same monument). Otherwise (no capture time on one, or another or an unknown camera)
  the pixels must show the same view: much of both pictures overlapping and agreeing, things
  moved (verify.py's "same view").
"""

from __future__ import annotations

from .pairs import FLOOR
from .verify import COPY, IDENTICAL, SAME_VIEW

LEVELS = ("identical", "copies", "similar")
NEEDS = {"identical": IDENTICAL, "copies": COPY, "similar": SAME_VIEW}
# the look-alike score a pair needs to be looked at, per level: identical pictures score ~1
CANDIDATE = {"identical": 0.9, "copies": FLOOR, "similar": FLOOR}
BURST_SECONDS = 10 * 60  # bursts are seconds apart, retakes of one view minutes
IMPOSSIBLE = 99  # a verdict no pair reaches


def required(level: str, taken: tuple[float | None, float | None], cameras: tuple[str, str],
             same_bytes: bool) -> int | None:
    """The verdict a pair's pixels must reach to be at `level`; None: it is there without them."""
    need = NEEDS[level]
    if same_bytes:
        return None
    ta, tb = taken
    # one camera, known on both: a photo that lost its camera on the way (a messenger's copy) may
    # as well be a stranger's
    same_camera = bool(cameras[0]) and cameras[0] == cameras[1]
    if same_camera and ta is not None and tb is not None and 1 <= abs(ta - tb) <= BURST_SECONDS:
        # a burst: two exposures, and an edited copy keeps its photo's capture time. A tripod's
        # burst can look like a copy with something added (people walking past); its times
        # cannot. (Further apart, the time may be an editor's: EXIF DateTime, read when
        # DateTimeOriginal is missing, is rewritten on every save.)
        return IMPOSSIBLE if need >= COPY else None
    if need >= COPY or ta is None or tb is None:
        return need
    if abs(ta - tb) > BURST_SECONDS:
        return COPY  # another moment: only a copy brings them together
    return None if same_camera else need


def level_of(verdict: int, score: float, taken: tuple[float | None, float | None], cameras: tuple[str, str],
             same_bytes: bool) -> str:
    """The highest level a pair reaches (Compare's answer), or "different"."""
    for level in LEVELS:
        need = required(level, taken, cameras, same_bytes)
        if (need is None and (same_bytes or score >= CANDIDATE[level])) or (need is not None and verdict >= need):
            return level
    return "different"
