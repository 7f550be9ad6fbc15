"""Load: index a library of 20,000 generated files while another thread searches nonstop.

Reports the search latency (p50/p95) during indexing, how many searches answered or
failed, and checks at the end that every file is indexed and the library is consistent.
Uses the real EfficientNet-Lite0 model from ../shared (or --model).

    python benchmarks/load.py [--n 20000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from _common import out_dir, shared_dir


def _make(args):
    from tests.helpers import make_photo, save_jpeg

    i, folder = args
    path = Path(folder) / f"{i // 1000:02d}" / f"g{i:05d}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save_jpeg(make_photo(i, (320, 240)), path, quality=85)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    folder = out_dir("load") / f"files-{args.n}"
    folder.mkdir(parents=True, exist_ok=True)
    with Pool(2) as pool:
        pool.map(_make, [(i, str(folder)) for i in range(args.n)], chunksize=200)

    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.pipeline.indexer import index_library
    from photosearch.core.search import Searcher

    model = args.model or str(shared_dir() / "models" / "efficientnet_lite0_fp32.onnx")
    home = Path(tempfile.mkdtemp(prefix="ps-load-"))
    try:
        app = App(dirs=app_dirs(home), device="cpu")
        app.libraries.create("load", [str(folder)], model=app.model_spec(model).describe())
        queries = sorted(folder.rglob("*.jpg"))[:50]
        latencies, failures, stop = [], [], threading.Event()
        with app.libraries.open("load", write=True) as lib:
            embedder = app.embedder_for(lib)

            def searching():
                searcher = Searcher(lib, embedder)
                i = 0
                while not stop.is_set():
                    if lib.index is None:
                        time.sleep(0.01)
                        continue
                    t = time.perf_counter()
                    try:
                        if i % 2:
                            searcher.by_images([queries[i % len(queries)]], k=50)
                        else:
                            ids = [int(x) for x in lib.index.query(np.ones(lib.config.dim), 1)[0]]
                            if ids:
                                searcher.by_photos(ids, k=50)
                        latencies.append((i % 2, time.perf_counter() - t))
                    except Exception as exc:
                        failures.append(repr(exc))
                    i += 1

            thread = threading.Thread(target=searching)
            thread.start()
            t0 = time.perf_counter()
            summary = index_library(lib, embedder)
            seconds = time.perf_counter() - t0
            stop.set()
            thread.join()
            counts = lib.catalog.counts()
            consistent = lib.index.live_count == lib.catalog.vector_count() == counts["indexed"]
        by_image = np.array([t for kind, t in latencies if kind == 1]) * 1000
        by_photo = np.array([t for kind, t in latencies if kind == 0]) * 1000
        print(f"indexed {summary.embedded:,} of {args.n:,} files in {seconds:.0f} s "
              f"({summary.pipeline_rate:.0f} photos/s) while searching nonstop")
        print(f"searches answered: {len(latencies):,}; failed: {len(failures)}")
        print(f"  find similar (stored vector), k=50: p50 {np.percentile(by_photo, 50):.1f} ms, "
              f"p95 {np.percentile(by_photo, 95):.1f} ms")
        print(f"  search by image (decode + embed), k=50: p50 {np.percentile(by_image, 50):.1f} ms, "
              f"p95 {np.percentile(by_image, 95):.1f} ms")
        print(f"library afterwards: {counts['indexed']:,} indexed, {counts['pending']} pending, "
              f"{counts['failed']} failed; catalog, vectors and index agree: {consistent}")
        return 0 if consistent and not failures and counts["indexed"] == args.n else 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
