"""Indexing speed: is the pipeline as fast as the machine allows?

Generates N camera-sized JPEGs (4000x3000, quality 92) from ../shared photos, builds a
ResNet-50-shaped ONNX graph with random weights (the real model's compute), and prints,
from the same run:

  - end-to-end photos/s of `photosearch index` (the same core call; start-up excluded)
  - model-only photos/s (same model and batch, tensors in memory, all cores)
  - decode + preprocess photos/s on one core (our decoder, same files)
  - the ceiling = cores / (cores / model_rate + 1 / decode_rate_one_core)
  - end-to-end / ceiling (target >= 0.85)

and the time of a no-change re-scan of a 10,000-file library (target <= 3 s).

    python benchmarks/indexing.py [--n 500] [--rescan-files 10000] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO, camera_files, load_script, out_dir

from photosearch.core.app import App
from photosearch.core.library.catalog import Indexed
from photosearch.core.library.paths import app_dirs
from photosearch.core.pipeline.indexer import index_library, load_for_model
from photosearch.core.pipeline.scanner import fingerprint_file, scan
from photosearch.core.vision.descriptor import CONFIGS, Descriptor
from photosearch.core.vision.embedder import default_threads


def model_only_rate(descriptor, seconds: float = 8.0) -> float:
    """Photos/s of the model doing everything the descriptor asks of it (every view), nothing else."""
    from PIL import Image

    side = descriptor.min_side
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    batch = [descriptor.prepare(Image.fromarray(noise))] * descriptor.embedder.batch_size
    descriptor.run(batch)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        descriptor.run(batch)
        n += len(batch)
    return n / (time.perf_counter() - start)


def decode_rate_one_core(files, descriptor, limit: int = 120) -> float:
    files = files[:limit]
    for f in files[:5]:
        load_for_model(0, str(f), descriptor)  # warm-up
    start = time.perf_counter()
    for f in files:
        d = load_for_model(0, str(f), descriptor)
        assert d.error is None, d.error
    return len(files) / (time.perf_counter() - start)


def rescan_time(app: App, descriptor, n_files: int, work: Path) -> float:
    """A library of n_files already indexed; time a full `index` run that finds nothing new."""
    folder = work / "rescan-photos"
    folder.mkdir(exist_ok=True)
    seed = next(iter(sorted((REPO.parent / "shared" / "data" / "photos" / "flowers5").rglob("*.jpg"))), None)
    data = seed.read_bytes() if seed else b"\xff\xd8\xff"
    for i in range(n_files):
        sub = folder / f"{i // 500:03d}"
        sub.mkdir(exist_ok=True)
        p = sub / f"p{i:05d}.jpg"
        if not p.exists():
            p.write_bytes(data + i.to_bytes(4, "little"))
    app.libraries.create("rescan", [str(folder)])
    with app.libraries.open("rescan", write=True) as lib:
        from photosearch.core.pipeline.indexer import apply_model

        apply_model(lib, descriptor)
        result = scan(lib.config.roots, lib.catalog.known())
        lib.catalog.add_pending((f.path, f.size, f.mtime_ns) for f in result.new)
        rng = np.random.default_rng(0)
        rows = []
        for pid, path in lib.catalog.pending():
            st = os.stat(path)
            v = rng.standard_normal(descriptor.dim).astype(np.float32)
            rows.append(Indexed(pid, st.st_size, st.st_mtime_ns, fingerprint_file(path), 1, 1, v / np.linalg.norm(v)))
        lib.catalog.store(rows, [])
        index_library(lib, descriptor)  # builds and saves the index once
    times = []
    for _ in range(3):
        start = time.perf_counter()
        with app.libraries.open("rescan", write=True) as lib:
            s = index_library(lib, descriptor)
        times.append(time.perf_counter() - start)
        assert s.embedded == 0 and s.unchanged == n_files, s
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="camera-sized files to index (default 500)")
    ap.add_argument("--rescan-files", type=int, default=10000)
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    bench = out_dir("indexing")
    files = camera_files(args.n, bench / f"camera-{args.n}")
    model_path = bench / "resnet50_random.onnx"
    if not model_path.exists():
        load_script("models/resnet50_graph.py").build(model_path)

    work = Path(tempfile.mkdtemp(prefix="ps-bench-"))
    try:
        app = App(dirs=app_dirs(work / "home"), device=args.device)
        app.libraries.create("bench", [str(files[0].parent)])
        with app.libraries.open("bench", write=True) as lib:
            # the app's default descriptor (GeM + thumbnail part), as indexing in the app uses it
            descriptor = app.descriptor_for(lib, override=model_path)
        cores = default_threads()
        print(f"machine: {cores} cores; model: ResNet-50-shaped graph (random weights), "
              f"provider {descriptor.embedder.provider}, batch {descriptor.embedder.batch_size}, "
              f"descriptor {descriptor.config.pooling} + {descriptor.config.thumb} px thumbnail part")

        model_rate = model_only_rate(descriptor)
        plain_rate = model_only_rate(Descriptor(descriptor.embedder, CONFIGS["avg"]))
        decode_rate = decode_rate_one_core(files, descriptor)

        with app.libraries.open("bench", write=True) as lib:
            summary = index_library(lib, descriptor, workers=args.workers)
        assert summary.embedded == args.n and summary.failed == 0, summary
        e2e = summary.pipeline_rate

        if descriptor.embedder.device == "cpu":
            ceiling = cores / (cores / model_rate + 1.0 / decode_rate)
        else:  # the GPU does the model; the CPU cores only decode
            ceiling = min(model_rate, cores * decode_rate)
        print(f"end-to-end (photosearch index, {args.n} files): {e2e:8.1f} photos/s")
        print(f"model only (batch {descriptor.embedder.batch_size}, all cores):      {model_rate:8.1f} photos/s")
        print(f"  (plain average pooling, one pass:     {plain_rate:8.1f} photos/s; the default descriptor "
              f"costs {plain_rate / model_rate:.2f}x)")
        print(f"decode + preprocess, one core:          {decode_rate:8.1f} photos/s")
        print(f"ceiling for this machine:               {ceiling:8.1f} photos/s")
        print(f"end-to-end / model only:                {e2e / model_rate:8.2f}   (decoding never starves the model "
              f"when this is near 1)")
        print(f"end-to-end / ceiling:                   {e2e / ceiling:8.2f}   (target >= 0.85)")

        if args.rescan_files:
            t = rescan_time(app, descriptor, args.rescan_files, work)
            print(f"no-change re-scan of {args.rescan_files} files:       {t:8.2f} s     (target <= 3 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
