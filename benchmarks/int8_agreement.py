"""How closely the int8 model photosearch makes agrees with fp32 (the check the app runs), for a
model given on the command line, on real photos of ../shared: 200 to calibrate, 300 held aside.

    python benchmarks/int8_agreement.py [MODEL.onnx ...]   (default: EfficientNet-Lite0 of ../shared
                                                           and the ResNet-50-shaped graph of indexing.py)
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import load_script, out_dir, shared_dir


def main() -> int:
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.models.quantize import quantize
    from photosearch.core.pipeline.precision import MIN_MEAN_COSINE, MIN_TOP10_OVERLAP, verify
    from photosearch.core.vision.descriptor import DEFAULT, Descriptor
    from photosearch.core.vision.imageio import decode

    models = [Path(a) for a in sys.argv[1:]]
    if not models:
        resnet = out_dir("indexing") / "resnet50_random.onnx"
        if not resnet.exists():
            load_script("models/resnet50_graph.py").build(resnet)
        models = [shared_dir() / "models" / "efficientnet_lite0_fp32.onnx", resnet]
    photos = sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    order = np.random.default_rng(0).permutation(len(photos))
    calibration, held = [photos[i] for i in order[:200]], [photos[i] for i in order[500:800]]
    home = Path(tempfile.mkdtemp(prefix="ps-int8-"))
    app = App(dirs=app_dirs(home), device="cpu")
    print(f"thresholds: mean cosine >= {MIN_MEAN_COSINE}, top-10 overlap >= {MIN_TOP10_OVERLAP}")
    for model in models:
        spec = app.model_spec(model)
        prepared = Descriptor.prepare_spec(spec, DEFAULT, app.dirs.prepared_models)
        fp32 = Descriptor(app.embedder(prepared), DEFAULT)
        t = time.perf_counter()
        views = [v for p in calibration for v in fp32.prepare(decode(str(p), min_side=fp32.min_side).image)]
        out = quantize(Path(prepared.file_for_runtime), home / f"{model.stem}-int8.onnx", prepared.input_name, views)
        seconds = time.perf_counter() - t
        int8 = Descriptor(app.embedder(replace(prepared, runtime_path=out)), DEFAULT, "int8")
        v = verify(fp32, int8, [decode(str(p), min_side=fp32.min_side).image for p in held])
        print(f"{model.name}: calibrated on 200 photos in {seconds:.0f} s; on {v.photos} held-out photos: "
              f"mean cosine {v.mean_cosine:.4f} (lowest {v.min_cosine:.4f}), top-10 overlap "
              f"{v.top10_overlap:.3f} -> {'passes' if v.passed else 'fails'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
