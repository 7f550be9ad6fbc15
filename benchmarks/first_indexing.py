"""The first indexing of a library, from nothing to searchable, at fp32 and at int8 (auto: the int8
model made from the library's own photos and checked first), and a `--reindex` reusing that int8
model; the same work as `photosearch index`, timed from the model being chosen to the index saved.

    python benchmarks/first_indexing.py [--sizes 100 300 1000] [--workers N]

Camera-sized JPEGs (4000x3000, q92, benchmarks/_common.py camera_files) and the ResNet-50-shaped
graph with random weights (models/resnet50_graph.py): the real model's compute. fp32 and int8 run
one after the other in the same run, for each size; the model's fp32 session is made once before
(both pay it in a real run). Then, as the reference for a --reindex, every photo indexed with the
int8 model made (nothing made, nothing read ahead). Targets: int8 / fp32 <= 1.15 at 300 photos; a
--reindex reusing the int8 model <= that int8 indexing alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import camera_files, out_dir, resnet50_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.pipeline import precision
    from photosearch.core.pipeline.indexer import index_library

    bench = out_dir("indexing")
    most = max(args.sizes)
    files = camera_files(most, bench / f"camera-{max(most, 1000)}")  # one set of files for every size
    model = resnet50_model()
    work = Path(tempfile.mkdtemp(prefix="ps-first-"))
    try:
        app = App(dirs=app_dirs(work / "home"), device="cpu")
        print(f"ResNet-50-shaped graph (random weights), 12 MP JPEGs, {os.cpu_count()} cores; int8 made from "
              f"up to {precision.CALIBRATION_PHOTOS} calibration photos, checked on up to "
              f"{precision.CHECK_PHOTOS}", flush=True)
        rows = []
        for n in args.sizes:
            folder = work / f"photos-{n}"
            folder.mkdir()
            for f in files[:n]:
                os.link(f, folder / f.name)
            times, made = {}, None
            for label, setting in (("fp32", "fp32"), ("int8", "auto")):
                name = f"{label}-{n}"
                app.libraries.create(name, [str(folder)], precision=setting)
                with app.libraries.open(name, write=True) as lib:
                    app.descriptor_for(lib, model)  # the fp32 session, made once (both pay it in a real run)
                    t0 = time.perf_counter()
                    descriptor = app.descriptor_for_indexing(lib, model)
                    t1 = time.perf_counter()
                    s = index_library(lib, descriptor, workers=args.workers, ahead=app.take_decoded(lib))
                    t2 = time.perf_counter()
                assert s.embedded == n and s.precision == label, (s.embedded, s.precision)
                times[label] = (t2 - t0, t1 - t0, t2 - t1)
                made = descriptor
            # the reference for a --reindex: every photo indexed with the int8 model, nothing made
            app.libraries.create(f"alone-{n}", [str(folder)])
            with app.libraries.open(f"alone-{n}", write=True) as lib:
                t0 = time.perf_counter()
                s = index_library(lib, made, workers=args.workers)
                alone = time.perf_counter() - t0
            with app.libraries.open(f"int8-{n}", write=True) as lib:
                t0 = time.perf_counter()
                descriptor = app.reindex(lib, model)
                s = index_library(lib, descriptor, workers=args.workers, ahead=app.take_decoded(lib))
                reindex = time.perf_counter() - t0
            assert s.embedded == n and s.precision == "int8"
            rows.append((n, times["fp32"][0], *times["int8"], alone, reindex))
            print(f"{n} photos: fp32 {times['fp32'][0]:.1f} s; int8 {times['int8'][0]:.1f} s (making the model "
                  f"{times['int8'][1]:.1f} s + indexing {times['int8'][2]:.1f} s); int8 indexing alone "
                  f"{alone:.1f} s; --reindex reusing the int8 model {reindex:.1f} s", flush=True)
        print(f"\n{'photos':>7}{'fp32 s':>9}{'int8 s':>9}{'int8/fp32':>11}{'making int8':>13}{'then indexing':>15}"
              f"{'indexing alone':>16}{'--reindex':>11}{'reindex/alone':>15}")
        for n, fp32, int8, making, indexing, alone, reindex in rows:
            print(f"{n:>7}{fp32:>9.1f}{int8:>9.1f}{int8 / fp32:>11.2f}{making:>13.1f}{indexing:>15.1f}"
                  f"{alone:>16.1f}{reindex:>11.1f}{reindex / alone:>15.2f}")
        print("targets: int8/fp32 <= 1.15 at 300 photos; a --reindex reusing the int8 model <= int8 indexing alone")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
