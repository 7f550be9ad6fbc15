"""How closely the int8 model photosearch makes agrees with fp32 (the check the app runs), for a
model given on the command line, on real photos of ../shared: calibrated on several sample sizes,
checked on 300 photos held aside; then the check itself on fewer photos (what the app runs).

    python benchmarks/int8_agreement.py [--calibration 200 100 64 32] [--checks 300 100 50 32] [MODEL.onnx ...]
    (default models: EfficientNet-Lite0 of ../shared and the ResNet-50-shaped graph of indexing.py)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import resnet50_model, shared_dir


def main() -> int:
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.models.quantize import quantize
    from photosearch.core.pipeline import precision
    from photosearch.core.pipeline.indexer import load_for_model
    from photosearch.core.vision.descriptor import DEFAULT, Descriptor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--calibration", type=int, nargs="+", default=[200, 100, 64, 32])
    ap.add_argument("--checks", type=int, nargs="+", default=[300, 100, 50, 32])
    args = ap.parse_args()
    models = args.models
    if not models:
        models = [shared_dir() / "models" / "efficientnet_lite0_fp32.onnx", resnet50_model()]
    photos = sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    order = np.random.default_rng(0).permutation(len(photos))
    calibration, held = [photos[i] for i in order[:max(args.calibration)]], [photos[i] for i in order[500:800]]
    home = Path(tempfile.mkdtemp(prefix="ps-int8-"))
    app = App(dirs=app_dirs(home), device="cpu")
    print(f"thresholds: mean cosine >= {precision.MIN_MEAN_COSINE}, top-10 overlap >= {precision.MIN_TOP10_OVERLAP}; "
          f"the app calibrates on up to {precision.CALIBRATION_PHOTOS} photos and checks on up to "
          f"{precision.CHECK_PHOTOS}")
    for model in models:
        spec = app.model_spec(model)
        prepared = Descriptor.prepare_spec(spec, DEFAULT, app.dirs.prepared_models)
        fp32 = Descriptor(app.embedder(prepared), DEFAULT)
        cal_views = [load_for_model(0, str(p), fp32).tensor for p in calibration]
        held_views = [load_for_model(0, str(p), fp32).tensor for p in held]
        print(f"\n{model.name}: calibrated on N photos, checked on {len(held)} held-out photos")
        made = {}
        for n in args.calibration:
            t = time.perf_counter()
            out = quantize(Path(prepared.file_for_runtime), home / f"{model.stem}-int8-{n}.onnx",
                           prepared.input_name, [v for views in cal_views[:n] for v in views])
            seconds = time.perf_counter() - t
            made[n] = Descriptor(app.embedder(replace(prepared, runtime_path=out)), DEFAULT, "int8")
            v = precision.verify(fp32, made[n], held_views)
            print(f"  N={n:<4} calibrated in {seconds:5.1f} s: mean cosine {v.mean_cosine:.4f} (lowest "
                  f"{v.min_cosine:.4f}), top-10 overlap {v.top10_overlap:.3f} -> "
                  f"{'passes' if v.passed else 'fails'}", flush=True)
        n = precision.CALIBRATION_PHOTOS if precision.CALIBRATION_PHOTOS in made else min(made)
        print(f"  the check on fewer photos (model calibrated on {n}):")
        for k in args.checks:
            t = time.perf_counter()
            v = precision.verify(fp32, made[n], held_views[:k])
            print(f"  check on {k:<4} photos in {time.perf_counter() - t:5.1f} s: mean cosine {v.mean_cosine:.4f}, "
                  f"top-10 overlap {v.top10_overlap:.3f} -> {'passes' if v.passed else 'fails'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
