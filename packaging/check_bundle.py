"""Use the built bundle as a person would, before it is handed out: packaging/build-bundle runs
this with its build environment's Python (for Pillow, to draw the photos).

    build/bundle-env/bin/python packaging/check_bundle.py dist/photosearch

The bundle is copied to a new folder and made read-only, then run from another folder with an
environment holding only HOME, PATH=/usr/bin:/bin and PHOTOSEARCH_HOME: a library of 48 drawn
photos is created and indexed (the offline model is built from the weights in the bundle, and
an int8 copy is calibrated: every part the bundle must hold is used), a photo is searched for
(it must come first), `doctor` runs, and the window (QT_QPA_PLATFORM=offscreen) must stay up
for 5 s with no traceback. Exits 1, with what went wrong, when any step fails.
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

PHOTOS = 48  # above the 40 that an int8 calibration needs


def draw_photos(folder: Path) -> list[Path]:
    from PIL import Image, ImageDraw

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
        paths.append(folder / f"photo_{i:02d}.jpg")
        img.save(paths[-1], quality=90)
    return paths


def fail(step: str, proc: subprocess.CompletedProcess[str] | None = None, why: str = "") -> None:
    print(f"check_bundle: FAILED: {step} {why}", file=sys.stderr)
    if proc is not None:
        print(f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    bundle = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory(prefix="photosearch-check-") as tmp:
        work = Path(tmp)
        installed = work / "opt" / "photosearch"
        shutil.copytree(bundle, installed, symlinks=True)
        for p in [installed, *installed.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        photos = draw_photos(work / "photos")
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
        if stats["photos"]["indexed"] != PHOTOS or stats["model"] != "efficientnet-lite0":
            fail("stats", why=f": expected {PHOTOS} photos indexed with the offline model: {stats}")
        check = stats.get("int8_check") or {}
        print(f"      {PHOTOS} photos indexed with {stats['model']}, {stats['precision_used']} "
              f"(int8 checked: mean cosine {check.get('mean_cosine', 0):.3f} on drawn shapes)")
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
