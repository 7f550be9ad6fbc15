"""What each level asks of a pair: copies and identical rest on pixels (never on capture times,
which can only rule a pair out: one camera's burst);
similar shots on capture time and camera where both photos have them, else on pixels; and the
real pairs of different shots of one scene are never copies."""

import json

import pytest

from photosearch.core.duplicates.levels import BURST_SECONDS, IMPOSSIBLE, level_of, required
from photosearch.core.duplicates.verify import COPY, DIFFERENT, IDENTICAL, SAME_VIEW
from tests.test_cli import run

T = 1.7e9  # a capture time
CANON, NIKON = "Canon EOS R6", "NIKON Z 6"


def test_copies_and_identical_rest_on_pixels_or_bytes():
    for level, need in (("identical", IDENTICAL), ("copies", COPY)):
        assert required(level, (T, T), (CANON, CANON), same_bytes=False) == need  # the same moment proves nothing
        assert required(level, (None, None), ("", ""), same_bytes=True) is None
    assert level_of(COPY, 0.9, (None, None), ("", ""), False) == "copies"
    assert level_of(IDENTICAL, 0.99, (None, None), ("", ""), False) == "identical"
    assert level_of(DIFFERENT, 0.99, (None, None), ("", ""), True) == "identical"  # the same bytes


def test_similar_shots_are_bursts_of_one_camera_or_the_same_view():
    burst = ((T, T + 3), (CANON, CANON))
    assert required("similar", *burst, same_bytes=False) is None
    assert level_of(DIFFERENT, 0.7, *burst, False) == "similar"  # people moved: still one burst
    assert level_of(DIFFERENT, 0.3, *burst, False) == "different"  # ...but it must look alike
    # another visitor's photo of the same monument, another day: only a copy counts
    other_day = ((T, T + 2 * 86400), (CANON, NIKON))
    assert required("similar", *other_day, same_bytes=False) == COPY
    assert level_of(SAME_VIEW, 0.95, *other_day, False) == "different"
    assert level_of(COPY, 0.95, *other_day, False) == "copies"
    # one camera, seconds apart: a burst, two exposures, never a copy (a copy keeps its capture time)
    burst_frames = ((T, T + 2), (CANON, CANON))
    assert required("copies", *burst_frames, same_bytes=False) == IMPOSSIBLE
    assert level_of(COPY, 0.95, *burst_frames, False) == "similar"
    # days apart the time may be an editor's (DateTime is rewritten on save): the pixels decide
    own_other_day = ((T, T + 2 * 86400), (CANON, CANON))
    assert required("copies", *own_other_day, same_bytes=False) == COPY
    assert level_of(COPY, 0.95, *own_other_day, False) == "copies"
    # two cameras at the same moment: their pixels must show the same view
    assert required("similar", (T, T + 1), (CANON, NIKON), same_bytes=False) == SAME_VIEW
    # no capture time on one of them: the pixels decide
    assert required("similar", (T, None), (CANON, ""), same_bytes=False) == SAME_VIEW
    assert level_of(SAME_VIEW, 0.6, (None, None), ("", ""), False) == "similar"
    assert required("similar", (T, T + BURST_SECONDS + 1), (CANON, NIKON), same_bytes=False) == COPY
    assert required("similar", (T, T + BURST_SECONDS + 1), (CANON, CANON), same_bytes=False) == COPY


def test_real_shots_of_one_scene_are_never_copies(shared, app):
    """../shared's scene_pairs: bursts, stereo pairs, a camera moved (issue 22's check)."""
    from photosearch.core.duplicates.compare import compare_photos

    folder = shared / "data" / "photos" / "scene_pairs"
    pairs = json.loads((folder / "groundtruth.json").read_text())["pairs"]
    descriptor = app.descriptor_for_photos(None, shared / "models" / "efficientnet_lite0_fp32.onnx")
    said = {}
    for a, b, kind in pairs:
        c = compare_photos(descriptor, str(folder / a), str(folder / b))
        said[f"{a} / {b} ({kind})"] = (c.level, c.evidence.reason)
    wrong = {k: v for k, v in said.items() if v[0] in ("identical", "copies")}
    assert not wrong, wrong
    bursts = [v for k, v in said.items() if "burst" in k]
    assert all(level == "similar" and "things moved" in why for level, why in bursts), bursts


@pytest.mark.parametrize("pair", [("basketball1.png", "basketball2.png")])
def test_compare_json_says_a_burst_is_not_a_copy(shared, isolated_home, pair):
    folder = shared / "data" / "photos" / "scene_pairs"
    out = json.loads(run("compare", folder / pair[0], folder / pair[1], "--json", "--model",
                         shared / "models" / "efficientnet_lite0_fp32.onnx", home=isolated_home).stdout)
    assert out["level"] == "similar" and out["evidence"]["pixels"] == "same view"
    assert out["evidence"]["moved"] > 0.1  # people moved
