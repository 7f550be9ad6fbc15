"""What keeping pixel records costs indexing (issue 22: >= 0.85x the rate without them).

The same N camera-sized JPEGs (4000x3000) indexed with the ResNet-50-shaped graph at fp32, the
app's default descriptor, twice per round: as photosearch does it now (each photo's pixel record
made in the decoding threads: 384 px grey, JPEG) and as it did before (no record, decoded only as
large as the model needs). Rounds alternate the order, so that a busy machine slows both alike;
the rates and their ratio are printed per round and as medians.

    python benchmarks/indexing_records.py [--n 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import camera_files, out_dir, resnet50_model

from photosearch.core.app import App
from photosearch.core.library.paths import app_dirs
from photosearch.core.pipeline import indexer
from photosearch.core.pipeline.indexer import index_library
from photosearch.core.vision.imageio import Need


def rate(app: App, name: str, folder: Path, model: Path, records: bool) -> float:
    saved = indexer.pixels_of, indexer.PIXELS_NEED
    if not records:  # as before: no record, and decoded only as large as the model needs
        indexer.pixels_of, indexer.PIXELS_NEED = (lambda img, box=None, full=None: None), Need()  # type: ignore[assignment]
    try:
        app.libraries.create(name, [str(folder)])
        with app.libraries.open(name, write=True) as lib:
            lib.set_precision("fp32")
            summary = index_library(lib, app.descriptor_for(lib, override=model))
            stored = lib.catalog.conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0]
        assert (stored > 0) == records, (stored, records)
        return float(summary.pipeline_rate)
    finally:
        indexer.pixels_of, indexer.PIXELS_NEED = saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bench = out_dir("indexing")
    files = camera_files(args.n, bench / f"camera-{args.n}")
    model = resnet50_model()
    work = Path(tempfile.mkdtemp(prefix="ps-bench-"))
    try:
        app = App(dirs=app_dirs(work / "home"), device="cpu")
        with_r, without = [], []
        for r in range(args.rounds):
            order = (True, False) if r % 2 == 0 else (False, True)
            for records in order:
                got = rate(app, f"r{r}-{records}", files[0].parent, model, records)
                (with_r if records else without).append(got)
            print(f"round {r + 1}: with pixel records {with_r[-1]:.2f} photos/s, without {without[-1]:.2f} "
                  f"photos/s: {with_r[-1] / without[-1]:.3f}x", flush=True)
        a, b = float(np.median(with_r)), float(np.median(without))
        print(f"median: with pixel records {a:.2f} photos/s, without {b:.2f} photos/s: {a / b:.3f}x "
              f"(target >= 0.85x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
