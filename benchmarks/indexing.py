"""Indexing speed: is the pipeline as fast as the machine allows, at fp32 and at int8?

Generates N camera-sized JPEGs (4000x3000, quality 92) from ../shared photos, builds a
ResNet-50-shaped ONNX graph with random weights (the real model's compute), quantizes it
to int8 as photosearch does (static, QOperator, per-channel; calibrated on 64 of the files),
and prints, from the same run, for fp32 and int8 side by side:

  - end-to-end photos/s of `photosearch index` (the same core call; start-up excluded)
  - model-only photos/s (same model and batch, tensors in memory, all cores)
  - the ceiling = cores / (cores / model_rate + 1 / decode_rate_one_core)
  - end-to-end / ceiling

then decode + preprocess photos/s on one core (our decoder, same files), the ratios
int8/fp32 (targets: model only >= 1.8, end to end >= 1.4; int8 end to end >= 0.9 x its
ceiling), and the time of a no-change re-scan of a 10,000-file library (target <= 3 s).

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
from _common import REPO, camera_files, out_dir, resnet50_model

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


def int8_descriptor(app: App, fp32: Descriptor, files: list[Path], work: Path) -> Descriptor:
    """The int8 model photosearch makes: calibrated on the descriptor's views of 64 photos."""
    from dataclasses import replace

    from photosearch.core.models.quantize import quantize
    from photosearch.core.vision.imageio import decode

    spec = fp32.embedder.spec
    views = [v for f in files[:64] for v in fp32.prepare(decode(str(f), min_side=fp32.min_side).image)]
    out = quantize(Path(spec.file_for_runtime), work / "model-int8.onnx", spec.input_name, views)
    return Descriptor(app.embedder(replace(spec, runtime_path=out)), fp32.config, precision="int8")


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
    model_path = resnet50_model()

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

        int8 = int8_descriptor(app, descriptor, files, work)
        decode_rate = decode_rate_one_core(files, descriptor)
        plain_rate = model_only_rate(Descriptor(descriptor.embedder, CONFIGS["avg"]))
        rows = {}
        for label, d in (("fp32", descriptor), ("int8", int8)):
            model_rate = model_only_rate(d)
            app.libraries.create(f"bench-{label}", [str(files[0].parent)])
            with app.libraries.open(f"bench-{label}", write=True) as lib:
                summary = index_library(lib, d, workers=args.workers)
            assert summary.embedded == args.n and summary.failed == 0, summary
            if d.embedder.device == "cpu":
                ceiling = cores / (cores / model_rate + 1.0 / decode_rate)
            else:  # the GPU does the model; the CPU cores only decode
                ceiling = min(model_rate, cores * decode_rate)
            rows[label] = (summary.pipeline_rate, model_rate, ceiling)
        print(f"{'':34}{'fp32':>10}{'int8':>10}{'int8/fp32':>11}")
        for i, name in enumerate((f"end-to-end ({args.n} files), photos/s", "model only, photos/s",
                                  "ceiling, photos/s")):
            a, b = rows["fp32"][i], rows["int8"][i]
            print(f"{name:<34}{a:>10.1f}{b:>10.1f}{b / a:>11.2f}")
        print(f"{'end-to-end / ceiling':<34}{rows['fp32'][0] / rows['fp32'][2]:>10.2f}"
              f"{rows['int8'][0] / rows['int8'][2]:>10.2f}")
        print(f"decode + preprocess, one core:    {decode_rate:8.1f} photos/s")
        print(f"(plain average pooling at fp32, one pass: {plain_rate:.1f} photos/s; the default descriptor "
              f"costs {plain_rate / rows['fp32'][1]:.2f}x)")
        print("targets: model only int8/fp32 >= 1.8, end to end int8/fp32 >= 1.4, "
              "int8 end-to-end / ceiling >= 0.9")

        if args.rescan_files:
            t = rescan_time(app, descriptor, args.rescan_files, work)
            print(f"no-change re-scan of {args.rescan_files} files:       {t:8.2f} s     (target <= 3 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
