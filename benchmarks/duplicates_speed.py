"""The speed half of benchmarks/duplicates.py: grouping a big library from stored vectors.

A library of N synthetic photos (vectors as in scale.py; regions and glances drawn at random per
photo; 1 % of the photos planted copies: their source's vector, regions and glances with noise) is
written and indexed the way the app does it. Then, printed: the first grouping (every photo's
neighbourhood scored and stored), the resident memory, 1,000 photos added (half of them copies)
and regrouped, and the planted pairs found at the copies level. The library is removed afterwards
(PHOTOSEARCH_BENCH_KEEP=1 keeps it, to profile)."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import load_script, out_dir
from duplicates_codes import compare_first_passes  # type: ignore[import-not-found]

scale = load_script("benchmarks/scale.py")


def _regions(rng: np.random.Generator, n: int) -> np.ndarray:
    from photosearch.core.vision.glance import GLANCE_BYTES
    from photosearch.core.vision.regions import DIM, REGIONS

    r = rng.integers(-127, 128, size=(n, REGIONS, DIM), dtype=np.int16)
    r = (r / np.linalg.norm(r, axis=2, keepdims=True) * 127).round().astype(np.int8)
    w = rng.integers(60, 256, size=(n, REGIONS), dtype=np.uint8)
    glances = rng.integers(0, 256, size=(n, GLANCE_BYTES), dtype=np.uint8)
    return np.concatenate([r.reshape(n, -1).view(np.uint8), w, glances], axis=1)


def _copy_of(rng: np.random.Generator, vec: np.ndarray, reg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from photosearch.core.vision.regions import BLOB_BYTES, DIM, REGIONS

    v = vec.astype(np.float32) + 0.12 * rng.standard_normal(vec.shape).astype(np.float32) / np.sqrt(len(vec))
    r = reg[:REGIONS * DIM].view(np.int8).astype(np.int16) + rng.integers(-20, 21, REGIONS * DIM)
    out = reg.copy()
    out[:REGIONS * DIM] = np.clip(r, -127, 127).astype(np.int8).view(np.uint8)
    glance = out[BLOB_BYTES:].astype(np.int16) + rng.integers(-40, 41, len(out) - BLOB_BYTES)
    out[BLOB_BYTES:] = np.clip(glance, 0, 255).astype(np.uint8)  # correlates about 0.95: the regions decide
    return (v / np.linalg.norm(v)).astype(np.float16), out


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
    while w.library is None:
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


def run_speed(n: int) -> None:
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.index.params import IndexParams
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.library.records import Indexed
    from photosearch.core.vision.descriptor import DEFAULT

    rng = np.random.default_rng(0)
    planted = n // 100
    vecs = scale.synthesise(n + 1000, 0, rng)
    regs = _regions(rng, n + 1000)
    sources = rng.choice(n - planted, planted, replace=False)
    truth = set()
    for k, src in enumerate(sources):  # the last `planted` photos are copies of earlier ones
        vecs[n - planted + k], regs[n - planted + k] = _copy_of(rng, vecs[src], regs[src])
        truth.add((int(src), n - planted + k))
    for k in range(500):  # the later 1,000: half copies
        src = int(rng.integers(0, n - planted))
        vecs[n + k], regs[n + k] = _copy_of(rng, vecs[src], regs[src])
    home = Path(tempfile.mkdtemp(prefix="ps-dupspeed-", dir=out_dir("duplicates")))
    app = App(dirs=app_dirs(home))
    (home / "photos").mkdir()
    app.libraries.create("big", [str(home / "photos")])
    with app.libraries.open("big", write=True) as lib:
        lib.config.dim = vecs.shape[1]
        lib.config.descriptor = DEFAULT.to_dict()
        lib.config.index = IndexParams(ef_construction=100).to_dict()
        lib.save_config()
        cat = lib.catalog
        cat.dim = vecs.shape[1]
        t = time.perf_counter()
        cat.add_pending((f"/photos/{i:07d}.jpg", 1, 1) for i in range(n))
        ids = np.array([pid for pid, _ in cat.pending()], np.int64)

        def store(lo: int, hi: int, idv: np.ndarray) -> None:
            for s in range(lo, hi, 20_000):
                e = min(hi, s + 20_000)
                cat.store([Indexed(int(idv[i - lo]), 1, 1, f"fp{i}", 1, 1, vecs[i], None, regs[i].tobytes())
                           for i in range(s, e)], [])

        store(0, n, ids)
        lib.open_index()
        print(f"{n:,} photos written and indexed in {time.perf_counter() - t:.0f} s (setup, not timed below)",
              flush=True)
        t = time.perf_counter()
        groups = find_duplicates(lib, "copies")
        first = time.perf_counter() - t
        id_of = {int(pid): i for i, pid in enumerate(ids)}
        found = {tuple(sorted((id_of[g.keep.id], id_of[c.id]))) for g in groups for c, _ in g.others}
        recall = len(found & truth) / len(truth)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"first grouping: {first:.1f} s   (target <= 60 s at 100,000, <= 15 min at 1,000,000); "
              f"{len(groups):,} groups; planted copies found {recall:.3f}; peak RSS {rss:.2f} GiB "
              f"(the whole run; target <= 3 GiB at 1M)", flush=True)
        print("first pass alone, the two ways (the spatial check after it is the same):", flush=True)
        compare_first_passes(lib.index, vecs[:n], ids, truth)
        cat.add_pending((f"/photos/new{i:05d}.jpg", 1, 1) for i in range(1000))
        new_ids = np.array([pid for pid, _ in cat.pending()], np.int64)
        store(n, n + 1000, new_ids)
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
    if not os.environ.get("PHOTOSEARCH_BENCH_KEEP"):  # a 1M library is 10 GB of disk
        shutil.rmtree(home, ignore_errors=True)
