"""The verifier's lines on pictures they were not drawn on: what each level says about them.

    python benchmarks/duplicates_heldout.py

- frames of OpenCV's sample videos at offsets the benchmark (duplicates.py) never takes: a still
  street with people walking (vtest), a hand-held tree, an animated film (Megamind_bugy). Pairs
  up to six steps apart; none is a copy, every one at copies is a false pair;
- the 150 calibration ImageNet photos (seed 5, which duplicates.py leaves out), each against
  captions and a logo drawn on it, alone and on top of a heavy recompression, a resize and a
  brightening, and against a logo on its bottom-right corner: every one is a copy.

Prints a count per (set, verdict). Needs ../shared (imagenet_sample) and Debian's opencv-doc
for the videos (left out, and said so, without it).
"""

from __future__ import annotations

import collections
import io
import itertools

import numpy as np
from _common import shared_dir
from duplicates_places import OPENCV_DATA as VIDEOS  # type: ignore[import-not-found]
from duplicates_places import video_frames
from PIL import Image, ImageDraw, ImageEnhance

from photosearch.core.duplicates.verify import verify
from photosearch.core.vision.glance import content_box
from photosearch.core.vision.pixels import Pixels, load_pixels, pixels_of


def jpeg(img: Image.Image, q: int = 90) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def record(img: Image.Image) -> Pixels:
    return load_pixels(pixels_of(img, content_box(img)))


def overlay(img: Image.Image, rng: np.random.Generator, logo: bool = True) -> Image.Image:
    out = img.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    for _ in range(3):
        at = (int(rng.integers(0, w // 2)), int(rng.integers(0, h - 20)))
        draw.text(at, "(c) someone 2026", fill=(255, 255, 255))
    if logo:
        lw = int(w * 0.15)
        draw.rectangle([w - lw - 6, h - lw // 2 - 6, w - 6, h - 6], fill=(30, 90, 220))
    return out


def corner_logo(img: Image.Image) -> Image.Image:
    out = img.copy()
    w, h = out.size
    ImageDraw.Draw(out).rectangle([w - 30, h - 20, w - 4, h - 4], fill=(255, 140, 0))
    return out


EDITS = ("captions and a logo", "captions only", "captions and a logo, quality 40", "captions and a logo, 60 %",
         "captions and a logo, brightened 15 %", "a logo in the corner")


def edited(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    if kind == "a logo in the corner":
        return jpeg(corner_logo(img), 90)
    out = overlay(img, rng, logo=kind != "captions only")
    if kind.endswith("quality 40"):
        return jpeg(out, 40)
    if kind.endswith("60 %"):
        return jpeg(out.resize((img.width * 3 // 5, img.height * 3 // 5)), 85)
    if kind.endswith("brightened 15 %"):
        out = ImageEnhance.Brightness(out).enhance(1.15)
    return jpeg(out, 90)


def main() -> None:
    tally: collections.Counter[tuple[str, str]] = collections.Counter()
    if VIDEOS.is_dir():
        for name, start, every, limit in (("vtest.avi", 10, 20, 40), ("tree.avi", 15, 30, 15),
                                          ("Megamind_bugy.avi", 12, 24, 11)):
            recs = [record(jpeg(f, 92)) for f in video_frames(VIDEOS / name, every, limit, start)]
            for i, j in itertools.combinations(range(len(recs)), 2):
                if j - i <= 6:
                    tally[(f"frames of {name} (none a copy)", verify(recs[i], recs[j]).name)] += 1
    else:
        print(f"(no {VIDEOS}: video frames left out; apt-get install opencv-doc)")
    photos = sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    calibration = sorted(np.random.default_rng(5).choice(len(photos), 150, replace=False).tolist())
    for i in calibration:
        img = Image.open(photos[i]).convert("RGB")
        rng = np.random.default_rng(i)
        plain = record(jpeg(img, 92))
        for kind in EDITS:
            tally[(f"{kind} (a copy)", verify(plain, record(edited(img, kind, rng))).name)] += 1
    for (kind, verdict), n in sorted(tally.items()):
        print(f"{kind:60s} {verdict:10s} {n:4d}")


if __name__ == "__main__":
    main()
