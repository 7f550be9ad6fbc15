"""The speed half of benchmarks/duplicates.py: grouping a big library from stored vectors.

A library of N synthetic photos of 4000 x 3000 (vectors as in scale.py; regions and glances drawn at
random per photo, 2 % of them framed; 1 % of the photos planted copies: their source's vector,
regions and glances with noise) is
written and indexed the way the app does it. Every photo has a pixel record of the real size made
from a real photo (the 1,000 ImageNet photos of ../shared, each photo's own crop of one, so that
no two are the same picture), and a planted copy has the record of an edited copy (resized,
mirrored, recoloured) of its source's picture: verifying a pair costs what it costs on real photos.
Then a fresh process (whose memory is the figure) prints: the first grouping (every photo's
neighbourhood scored and stored, the pairs it needs verified) and the planted pairs found at
the copies level, its peak resident memory, the first pass of grouping two ways (HNSW neighbour
lists, binary codes: duplicates_codes.py), 1,000 photos added (half of them copies) and
regrouped, the groups asked for again, and the app's Duplicates view's first screen. The library
is removed afterwards (PHOTOSEARCH_BENCH_KEEP=1 keeps it, to profile)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import load_script, out_dir, shared_dir
from duplicates_codes import compare_first_passes  # type: ignore[import-not-found]
from PIL import Image

scale = load_script("benchmarks/scale.py")


def _regions(rng: np.random.Generator, n: int) -> np.ndarray:
    from photosearch.core.vision.glance import GLANCE_BYTES
    from photosearch.core.vision.regions import DIM, REGIONS

    r = rng.integers(-127, 128, size=(n, REGIONS, DIM), dtype=np.int16)
    r = (r / np.linalg.norm(r, axis=2, keepdims=True) * 127).round().astype(np.int8)
    w = rng.integers(60, 256, size=(n, REGIONS), dtype=np.uint8)
    glances = rng.integers(0, 256, size=(n, GLANCE_BYTES), dtype=np.uint8)
    # where the picture sits: the whole photo, but in 2 % of them (screenshots, framed photos) a
    # box filling 64 % of it (those are searched by glance too: glance_pairs.py)
    framed = rng.random(n) < FRAMED_SHARE
    box = np.where(framed[:, None], np.array([25, 25, 230, 230]), np.array([0, 0, 255, 255]))
    glances[:, -4:] = box.astype(np.uint8)
    return np.concatenate([r.reshape(n, -1).view(np.uint8), w, glances], axis=1)


FRAMED_SHARE = 0.02
SIZE = (4000, 3000)  # a camera's photos (what the catalog says of each; the pixel records are real)


def _copy_of(rng: np.random.Generator, vec: np.ndarray, reg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from photosearch.core.vision.regions import BLOB_BYTES, DIM, REGIONS

    v = vec.astype(np.float32) + 0.12 * rng.standard_normal(vec.shape).astype(np.float32) / np.sqrt(len(vec))
    r = reg[:REGIONS * DIM].view(np.int8).astype(np.int16) + rng.integers(-20, 21, REGIONS * DIM)
    out = reg.copy()
    out[:REGIONS * DIM] = np.clip(r, -127, 127).astype(np.int8).view(np.uint8)
    glance = out[BLOB_BYTES:-4].astype(np.int16) + rng.integers(-40, 41, len(out) - BLOB_BYTES - 4)
    out[BLOB_BYTES:-4] = np.clip(glance, 0, 255).astype(np.uint8)  # correlates about 0.95: the regions decide
    return (v / np.linalg.norm(v)).astype(np.float16), out


def peak_rss_gib() -> float:
    """This process's own peak (VmHWM). Not getrusage's ru_maxrss: Linux carries that across
    fork and exec, so a child would report the builder's 10 GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def first_screen(home: Path) -> float:
    """Seconds from asking for the Duplicates view to its list painted, offscreen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.ui.main_window import MainWindow

    qapp = QApplication.instance() or QApplication([])
    w = MainWindow(App(dirs=app_dirs(home)), QSettings(str(home / "view.ini"), QSettings.Format.IniFormat),
                   auto_index=False)
    w.show()  # as a person has it: the main window up and painted before Duplicates… is clicked
    while w.library is None:
        qapp.processEvents()
    w.repaint()
    qapp.processEvents()
    shown: list[int] = []
    t = time.perf_counter()
    view = w.open_duplicates()
    view.groups_ready.connect(shown.append)
    while not shown:
        qapp.processEvents()
    view.view.viewport().repaint()
    took = time.perf_counter() - t
    w.close()
    qapp.processEvents()
    return took


def _pool() -> tuple[list[Image.Image], list[Path]]:
    from photosearch.core.vision.imageio import Need, decode
    from photosearch.core.vision.pixels import SIDE

    paths = sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    return [decode(p, need=Need(long=SIDE)).image for p in paths], paths


def _crop(img: Image.Image, k: int) -> Image.Image:
    """A crop (70-90 %) of `img`, placed by k."""
    r = np.random.default_rng(k)
    f = r.uniform(0.7, 0.9)
    w, h = img.size
    cw, ch = int(w * f), int(h * f)
    x, y = int(r.integers(0, w - cw + 1)), int(r.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def _record(img: Image.Image, k: int) -> bytes:
    """Photo k's own picture: a crop of a real photo, placed by k."""
    from photosearch.core.vision.glance import content_box
    from photosearch.core.vision.pixels import pixels_of

    crop = _crop(img, k)
    return pixels_of(crop, content_box(crop))


def _edited(record_img: Image.Image, k: int) -> bytes:
    """An edited copy of photo k's picture: cropped, resized to 70 %, mirrored, brighter."""
    from PIL import ImageEnhance, ImageOps

    from photosearch.core.vision.glance import content_box
    from photosearch.core.vision.pixels import pixels_of

    img = _crop(record_img, k)
    small = img.resize((int(img.width * 0.7), int(img.height * 0.7)))
    img = ImageEnhance.Brightness(ImageOps.mirror(small)).enhance(1.2)
    return pixels_of(img, content_box(img))


def build(n: int, home: Path) -> None:
    """A library of n photos written and indexed as the app does it, in pieces (1M vectors and
    regions are 10 GB); the 1,000 photos to add later and the planted pairs saved beside it."""
    from photosearch.core.app import App
    from photosearch.core.duplicates.pairs import regions
    from photosearch.core.index.params import IndexParams
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.library.records import Indexed
    from photosearch.core.vision.descriptor import DEFAULT

    rng = np.random.default_rng(0)
    planted = n // 100
    app = App(dirs=app_dirs(home))
    (home / "photos").mkdir()
    app.libraries.create("big", [str(home / "photos")])
    with app.libraries.open("big", write=True) as lib:
        cat = lib.catalog
        dim = scale.real_descriptors().shape[1]
        lib.config.dim = cat.dim = dim
        lib.config.descriptor = DEFAULT.to_dict()
        lib.config.index = IndexParams(ef_construction=100).to_dict()
        lib.save_config()
        cat.add_pending((f"/photos/{i:07d}.jpg", 1, 1) for i in range(n))
        ids = np.array([pid for pid, _ in cat.pending()], np.int64)

        pool, _ = _pool()
        # a record per pool photo and crop placement: 1,000 x 8 made once, then shared out (the
        # records are what verification reads; which photo holds which does not change its cost)
        records = [_record(pool[k % len(pool)], k) for k in range(8 * len(pool))]

        def copies_of(src: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
            _, v = cat.vectors(ids[src].tolist())
            have = regions(lib, ids[src].tolist())
            out = [_copy_of(rng, v[k], np.frombuffer(have[int(ids[s])], np.uint8)) for k, s in enumerate(src)]
            pix = [_edited(pool[int(s) % len(records) % len(pool)], int(s) % len(records)) for s in src]
            return np.stack([o[0] for o in out]), np.stack([o[1] for o in out]), pix

        def store(idv: np.ndarray, vecs: np.ndarray, regs: np.ndarray, pix: list[bytes]) -> None:
            cat.store([Indexed(int(pid), 1, 1, f"fp{pid}", *SIZE, vecs[k], None, regs[k].tobytes(), pixels=pix[k])
                       for k, pid in enumerate(idv)], [])

        for s in range(0, n - planted, 20_000):  # originals
            e = min(n - planted, s + 20_000)
            store(ids[s:e], scale.synthesise(e - s, 0, rng), _regions(rng, e - s),
                  [records[k % len(records)] for k in range(s, e)])
        sources = np.sort(rng.choice(n - planted, planted, replace=False))
        for s in range(0, planted, 20_000):  # the last 1 %: copies of earlier photos
            vecs, regs, pix = copies_of(sources[s:s + 20_000])
            store(ids[n - planted + s:n - planted + s + len(vecs)], vecs, regs, pix)
        np.save(home / "truth.npy", np.stack([ids[sources], ids[n - planted:]], 1))
        later_src = rng.integers(0, n - planted, 500)
        later_v, later_r, later_p = copies_of(later_src)  # to add later: half copies
        np.savez(home / "later.npz", v=np.concatenate([later_v, scale.synthesise(500, 0, rng)]),
                 r=np.concatenate([later_r, _regions(rng, 500)]),
                 p=np.array(later_p + [records[(n + k) % len(records)] for k in range(500)], dtype=object))
        lib.open_index()


def group(home: Path) -> None:
    """In a fresh process, as a user's would be: the first grouping, its memory, both first
    passes, 1,000 photos added and regrouped, groups again, the view's first screen."""
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.library.records import Indexed

    app = App(dirs=app_dirs(home))
    truth = np.load(home / "truth.npy")
    with app.libraries.open("big", write=True) as lib:
        t = time.perf_counter()
        groups = find_duplicates(lib, "copies")
        first = time.perf_counter() - t
        verified = lib.catalog.conn.execute("SELECT COUNT(*), SUM(verdict >= 2) FROM dup_pairs "
                                            "WHERE verdict IS NOT NULL").fetchone()
        print(f"  pairs verified in pixels: {verified[0]:,} ({verified[1] or 0:,} copies)", flush=True)
        rss = peak_rss_gib()
        found = {(min(g.keep.id, c.id), max(g.keep.id, c.id)) for g in groups for c, _ in g.others}
        recall = np.mean([(int(min(a, b)), int(max(a, b))) in found for a, b in truth])
        print(f"first grouping: {first:.1f} s   (target <= 90 s at 100,000, <= 20 min at 1,000,000); "
              f"{len(groups):,} groups; planted copies found {recall:.3f}; peak RSS of this process "
              f"{rss:.2f} GiB (target <= 3 GiB at 1M)", flush=True)
        print("first pass alone, the two ways (the spatial check after it is the same):", flush=True)
        compare_first_passes(lib, truth)
        cat = lib.catalog
        later = np.load(home / "later.npz", allow_pickle=True)  # our own file: the records are bytes
        cat.add_pending((f"/photos/later{i:05d}.jpg", 1, 1) for i in range(len(later["v"])))
        new_ids = [pid for pid, _ in cat.pending()]
        cat.store([Indexed(int(pid), 1, 1, f"later{pid}", *SIZE, later["v"][k], None, later["r"][k].tobytes(),
                           pixels=later["p"][k]) for k, pid in enumerate(new_ids)], [])
        assert lib.index is not None
        lib.index.catch_up(cat)
        t = time.perf_counter()
        groups = find_duplicates(lib, "copies")
        print(f"1,000 photos added, regrouped in {time.perf_counter() - t:.1f} s   (target <= 5 s); "
              f"{len(groups):,} groups", flush=True)
        t = time.perf_counter()
        find_duplicates(lib, "copies")
        print(f"groups again, nothing new (what the Duplicates view's first screen waits for): "
              f"{time.perf_counter() - t:.2f} s   (target <= 1 s)", flush=True)
    print(f"the app's Duplicates view, opened on this library: first screen (groups listed and painted) in "
          f"{first_screen(home):.2f} s   (target <= 1 s; thumbnails then fill in as they load)", flush=True)


def run_speed(n: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="ps-dupspeed-", dir=out_dir("duplicates")))
    try:
        t = time.perf_counter()
        build(n, home)
        print(f"{n:,} photos written and indexed in {time.perf_counter() - t:.0f} s (setup, not timed below)",
              flush=True)
        subprocess.run([sys.executable, __file__, str(home)], check=True)
    finally:
        if not os.environ.get("PHOTOSEARCH_BENCH_KEEP"):  # a 1M library is 10 GB of disk
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    group(Path(sys.argv[1]))
