"""Use the built bundle as a person would, before it is handed out: packaging/build-bundle runs
this with its build environment's Python (for Pillow, to draw the photos).

    build/bundle-env/bin/python packaging/check_bundle.py dist/photosearch

The bundle is copied to a new folder and made read-only, then run from another folder with an
environment holding only HOME, PATH=/usr/bin:/bin and PHOTOSEARCH_HOME: a library of 48 drawn
photos and two edited copies of them is created and indexed (the offline model is built from the
weights in the bundle, and an int8 copy is calibrated: every part the bundle must hold is used),
a photo is searched for (it must come first), `duplicates` must find each copy with its original
at level "copies", proven in pixels, and `compare` must say the same with its evidence (OpenCV
at work: the whole picture found mirrored, and a crop found by matched points), `doctor` runs,
and the window (QT_QPA_PLATFORM=offscreen) must stay up for 5 s with no traceback. Exits 1,
with what went wrong, when any step fails.
"""

from __future__ import annotations

import json
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PHOTOS = 48  # above the 40 that an int8 calibration needs
# edited copies of two of the photos, in the same folder: (photo, copy's name). The first is the
# whole picture mirrored and made smaller (found by comparing whole pictures in each orientation),
# the second a crop of it, smaller (found by matching points: ORB and a RANSAC fit)
MIRRORED, CROPPED = (11, "photo_11 mirrored.jpg"), (23, "photo_23 cropped.jpg")


def draw_photos(folder: Path) -> list[Path]:
    from PIL import Image, ImageChops, ImageDraw

    folder.mkdir()
    paths = []
    for i in range(PHOTOS):
        rng = random.Random(i)
        img = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x, y = rng.randrange(280), rng.randrange(200)
            box = [x, y, x + rng.randrange(20, 160), y + rng.randrange(20, 120)]
            fill = tuple(rng.randrange(256) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        # light and shade over it all, as photos have: along the edge of a flat shape every
        # point looks the same, and the duplicates' pixel checks would see an edited copy's
        # shapes as moved (they are made for photos)
        grain = Image.frombytes("L", (80, 60), bytes(128 + rng.randrange(-40, 41) for _ in range(80 * 60)))
        img = ImageChops.add(img, grain.resize(img.size, Image.Resampling.BICUBIC).convert("RGB"), offset=-128)
        paths.append(folder / f"photo_{i:02d}.jpg")
        img.save(paths[-1], quality=90)
    return paths


def edit_copies(photos: list[Path]) -> dict[Path, Path]:
    """The edited copies, next to the photos: {original: copy}."""
    from PIL import Image, ImageOps

    copies = {}
    for (i, name), mirrored in ((MIRRORED, True), (CROPPED, False)):
        img = Image.open(photos[i])
        w, h = img.size
        if not mirrored:
            img = img.crop((w // 10, h // 8, w - w // 10, h - h // 10))
        img = img.resize((w * 3 // 4, h * 3 // 4), Image.Resampling.LANCZOS)
        copies[photos[i]] = photos[i].with_name(name)
        (ImageOps.mirror(img) if mirrored else img).save(copies[photos[i]], quality=85)
    return copies


def check_copies_found(groups: list[dict[str, Any]], copies: dict[Path, Path]) -> None:
    """Each copy is in a group of its own with its original, at level copies, with the evidence;
    nothing else is grouped (the drawn photos are all different)."""
    expected = {frozenset((str(a), str(b))) for a, b in copies.items()}
    for g in groups:
        members = frozenset([g["keep"], *(o["path"] for o in g["others"])])
        if members not in expected:
            fail("duplicates --json", why=f": a group that is not one of the edited copies: {g}")
        if g["level"] != "copies" or not all(o.get("evidence") for o in g["others"]):
            fail("duplicates --json", why=f": a copy not found at level copies with its evidence: {g}")
        expected.discard(members)
        print(f"      {Path(g['others'][0]['path']).name}: {g['others'][0]['evidence']}")
    if expected:
        fail("duplicates --json", why=f": copies not found: {sorted(sorted(m) for m in expected)}; groups: {groups}")


def fail(step: str, proc: subprocess.CompletedProcess[str] | None = None, why: str = "") -> None:
    print(f"check_bundle: FAILED: {step} {why}", file=sys.stderr)
    if proc is not None:
        print(f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    bundle = Path(sys.argv[1]).resolve()
    dangling = [str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    if dangling:
        fail("the bundle's links", why=f": pointing at files left out of it: {dangling}")
    with tempfile.TemporaryDirectory(prefix="photosearch-check-") as tmp:
        work = Path(tmp)
        installed = work / "opt" / "photosearch"
        shutil.copytree(bundle, installed, symlinks=True)
        for p in [installed, *installed.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        photos = draw_photos(work / "photos")
        copies = edit_copies(photos)
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        env = {"HOME": str(work), "PATH": "/usr/bin:/bin", "PHOTOSEARCH_HOME": str(work / "home")}
        exe = str(installed / "photosearch")

        def run(step: str, *args: str) -> str:
            started = time.perf_counter()
            proc = subprocess.run([exe, *args], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0 or "Traceback" in proc.stderr:
                fail(step, proc)
            print(f"  ok  {step} ({time.perf_counter() - started:.1f} s)")
            return proc.stdout

        print(f"checking {bundle}: copied read-only to {installed}, run from {elsewhere}")
        run("photosearch --version", "--version")
        run("photosearch library create check PHOTOS", "library", "create", "check", str(photos[0].parent))
        run("photosearch index (builds the offline model, calibrates int8)", "index")
        hits = json.loads(run("photosearch search PHOTO --json", "search", str(photos[7]), "--json", "-k", "3"))
        if hits["hits"][0]["path"] != str(photos[7]):
            fail("search", why=f": the photo itself is not first: {hits}")
        stats = json.loads(run("photosearch stats --json", "stats", "--json"))
        if stats["photos"]["indexed"] != PHOTOS + len(copies) or stats["model"] != "efficientnet-lite0":
            fail("stats", why=f": expected {PHOTOS + len(copies)} photos indexed with the offline model: {stats}")
        check = stats.get("int8_check") or {}
        print(f"      {stats['photos']['indexed']} photos indexed with {stats['model']}, {stats['precision_used']} "
              f"(int8 checked: mean cosine {check.get('mean_cosine', 0):.3f} on drawn shapes)")
        out = run("photosearch duplicates --json (copies proven in pixels)", "duplicates", "--json")
        check_copies_found([json.loads(line) for line in out.splitlines() if line.strip()], copies)
        for (original, copy), needs_points in zip(copies.items(), (False, True)):
            result = json.loads(run(f"photosearch compare {original.name!r} {copy.name!r} --json",
                                    "compare", str(original), str(copy), "--json"))
            evidence = result["evidence"]
            if result["level"] != "copies" or evidence["pixels"] != "copy" or not evidence["reason"] \
                    or (needs_points and not evidence["matched_points"]):
                fail("compare", why=f": not proven a copy in pixels{' by matched points' * needs_points}: {result}")
            print(f"      {result['level']}: {evidence['reason']} ({evidence['matched_points']} matched points)")
        run("photosearch doctor", "doctor")

        gui = subprocess.Popen([exe], env=dict(env, QT_QPA_PLATFORM="offscreen"), cwd=elsewhere,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            gui.wait(timeout=5)
        except subprocess.TimeoutExpired:
            gui.terminate()
            out, err = gui.communicate(timeout=30)
            if "Traceback" in err:
                fail("the window", subprocess.CompletedProcess([exe], 0, out, err))
            print("  ok  the window stayed up for 5 s with no traceback")
        else:
            out, err = gui.communicate()
            fail("the window", subprocess.CompletedProcess([exe], gui.returncode, out, err), "exited at once")
        for p in installed.rglob("*"):  # make the copy deletable again
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
        installed.chmod(installed.stat().st_mode | stat.S_IWUSR)
    print("the bundle works")


if __name__ == "__main__":
    main()
