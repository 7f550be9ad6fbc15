"""Many photos of the same places, with planted edited copies among them: the copies level must
find the copies and never call two shots of one place copies (issue 22).

The places: ImageNet photos each seen by six "visitors" (a new viewpoint: a perspective warp of
6-16 % of the frame, another zoom and framing, other light, people in front: patches of other
photos), real frames of OpenCV's sample videos two seconds apart (a street with people walking,
a tree filmed by hand, an animated film), a camera-calibration series (one chessboard moved
between shots, left and right cameras) and the real pairs of `../shared/data/photos/scene_pairs`.
The first visitor of some places and some video frames get edited copies (the benchmark's
edits). Only a photo and its copies are copies of each other; every other pair is not.

The OpenCV samples come from Debian's `opencv-doc` (`apt-get install opencv-doc`); without it
that part is left out, and said so.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def _jpeg(img: Image.Image, q: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)
    return buf.getvalue()


def visitor(img: Image.Image, other: Image.Image, rng: np.random.Generator) -> bytes:
    """Another visitor's photo of the place in `img`: from another spot (the scene's near part,
    the lower third, shifts against the far part: parallax; the whole seen in perspective), at
    another hour (light falling differently across the picture), with other people in front."""
    w, h = img.size
    a = np.asarray(img).astype(np.float32)
    d = rng.uniform(0.04, 0.12)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32) * np.float32([w, h])
    far = cv2.warpPerspective(a, cv2.getPerspectiveTransform(src, dst), (w, h), borderMode=cv2.BORDER_REFLECT)
    shift = rng.uniform(0.02, 0.06) * w * rng.choice([-1, 1])
    near = cv2.warpPerspective(a, cv2.getPerspectiveTransform(src, dst + np.float32([shift, 0])), (w, h),
                               borderMode=cv2.BORDER_REFLECT)
    weight = np.clip((np.arange(h, dtype=np.float32) / h - 0.55) / 0.15, 0, 1)[:, None, None]
    light = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.3), w, dtype=np.float32)[None, :, None]
    if rng.random() < 0.5:
        light = light[:, ::-1]
    out = Image.fromarray(np.clip((far * (1 - weight) + near * weight) * light, 0, 255).astype(np.uint8))
    f = rng.uniform(0.75, 1.0)
    cw, ch = int(w * f), int(h * f)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = ImageEnhance.Brightness(out.crop((x, y, x + cw, y + ch)).resize((w, h))).enhance(rng.uniform(0.7, 1.3))
    other = other.resize((w, h))
    for _ in range(int(rng.integers(1, 4))):  # people in front
        pw, ph = int(w * rng.uniform(0.08, 0.2)), int(h * rng.uniform(0.2, 0.5))
        ox, oy = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
        out.paste(other.crop((ox, oy, ox + pw, oy + ph)), (int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))))
    return _jpeg(out, int(rng.integers(80, 95)))


def video_frames(path: Path, every: int, limit: int, start: int = 0) -> list[Image.Image]:
    """Every `every`-th frame from `start` on, `limit` at most."""
    cap = cv2.VideoCapture(str(path))
    out: list[Image.Image] = []
    i = 0
    ok, frame = cap.read()
    while ok and len(out) < limit:
        if i >= start and (i - start) % every == 0:
            out.append(Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
        ok, frame = cap.read()
        i += 1
    return out


def make_places(folder: Path, photos: Path, places: list[Path], rng: np.random.Generator,
                edit) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Writes the library's files; returns name -> its copy group ("" for a photo with none)."""
    group: dict[str, str] = {}

    def put(name: str, data: bytes, g: str = "") -> None:
        (folder / name).write_bytes(data)
        group[name] = g

    def copies(name: str, img: Image.Image, g: str) -> None:
        for kind in ("downscale", "jpeg", "rotate90", "hflip", "color", "border", "overlay", "screenshot"):
            put(f"{g}-{kind}.{'png' if kind == 'screenshot' else 'jpg'}", edit(img, kind, rng), g)
        w, h = img.size
        f = rng.uniform(0.75, 0.95)
        cw, ch = int(w * f), int(h * f)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        put(f"{g}-crop.jpg", _jpeg(img.crop((x, y, x + cw, y + ch))), g)
        group[name] = g

    for p, src in enumerate(places):
        img = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        other = ImageOps.exif_transpose(Image.open(places[(p + 1) % len(places)])).convert("RGB")
        for v in range(6):
            name = f"place{p:02d}-visitor{v}.jpg"
            put(name, visitor(img, other, rng))
            if v == 0 and p % 2 == 0:
                copies(name, Image.open(folder / name).convert("RGB"), f"copyof-place{p:02d}")
    if OPENCV_DATA.is_dir():
        for video, every, limit in (("vtest.avi", 20, 40), ("tree.avi", 30, 15), ("Megamind.avi", 24, 11)):
            for n, frame in enumerate(video_frames(OPENCV_DATA / video, every, limit)):
                name = f"{video[:-4]}-{n:02d}.jpg"
                put(name, _jpeg(frame, 92))
                if n % 8 == 0:
                    copies(name, frame, f"copyof-{video[:-4]}{n:02d}")
        for side in ("left", "right"):
            for i in range(3, 15):  # 01 and 02 are in scene_pairs already (the same files)
                src = OPENCV_DATA / f"{side}{i:02d}.jpg"
                if src.exists():
                    shutil.copy(src, folder / f"chess-{side}{i:02d}.jpg")
                    group[f"chess-{side}{i:02d}.jpg"] = ""
    else:
        print(f"  (no {OPENCV_DATA}: the video frames and chessboards are left out; apt-get install opencv-doc)")
    gt = json.loads((photos / "scene_pairs" / "groundtruth.json").read_text())["pairs"]
    for a, b, _ in gt:
        for n in (a, b):
            shutil.copy(photos / "scene_pairs" / n, folder / f"scene-{n}")
            group[f"scene-{n}"] = ""
    return group


def copy_pairs(group: dict[str, str]) -> set[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    for name, g in group.items():
        if g:
            by.setdefault(g, []).append(name)
    return {tuple(sorted(p)) for names in by.values() for p in itertools.combinations(names, 2)}  # type: ignore[misc]


def place_of(name: str) -> str:
    """Which place (or video, or series) a file shows: pairs within one are the traps."""
    return name.split("-")[0] if not name.startswith("copyof") else name.split("-")[1]
