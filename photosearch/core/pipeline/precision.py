"""Which precision a library's model runs at, and the int8 model's calibration and check.

`auto` (the default) means: int8 on a CPU when the int8 model passes its check, fp32 on a
GPU (where fp32 is fast already). It is decided once, when a library gets its first vectors,
and recorded: a library's vectors all come from one precision.

The check, on photos held aside from calibration: the int8 and fp32 descriptors of the same
photo must agree (mean cosine) and rank the same neighbours (top-10 overlap). Thresholds from
measurements (EfficientNet-Lite0, 200 calibration photos, 300 held-out ImageNet photos, the
default descriptor): mean cosine 0.993 (lowest 0.968), top-10 overlap 0.91; a broken int8 model
(wrong scales) falls to a mean cosine near 0.5. We require 0.98 and 0.80.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError
from ..library.libraries import Library
from ..models.quantize import calibration_key, is_quantized, quantize
from ..models.spec import ModelSpec, sha256_file
from ..vision.descriptor import Descriptor
from ..vision.imageio import decode
from .scanner import ScanOptions, walk

PRECISIONS = ("auto", "fp32", "int8")
MIN_MEAN_COSINE = 0.98
MIN_TOP10_OVERLAP = 0.80
CALIBRATION_PHOTOS = 200
CHECK_PHOTOS = 100
MIN_PHOTOS = 40  # fewer than this: too few to calibrate and check (auto stays fp32)


@dataclass(frozen=True)
class Verification:
    photos: int
    mean_cosine: float
    min_cosine: float
    top10_overlap: float

    @property
    def passed(self) -> bool:
        return self.mean_cosine >= MIN_MEAN_COSINE and self.top10_overlap >= MIN_TOP10_OVERLAP

    def describe(self) -> str:
        verdict = "passed" if self.passed else "failed"
        return (f"int8 check {verdict} on {self.photos} photos held aside: mean cosine to fp32 "
                f"{self.mean_cosine:.3f} (needs {MIN_MEAN_COSINE}), top-10 neighbours in common "
                f"{self.top10_overlap:.2f} (needs {MIN_TOP10_OVERLAP})")


def verify(fp32: Descriptor, int8: Descriptor, images: list[Any]) -> Verification:
    a, b = fp32.describe_images(images), int8.describe_images(images)
    cos = np.sum(a * b, axis=1)
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -np.inf)
    np.fill_diagonal(sb, -np.inf)
    k = min(10, len(images) - 1)
    if k < 1:
        overlap = 1.0
    else:
        ta, tb = np.argsort(-sa, axis=1)[:, :k], np.argsort(-sb, axis=1)[:, :k]
        overlap = float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb)]))
    return Verification(len(images), float(cos.mean()), float(cos.min()), overlap)


def sample_photos(library: Library, n: int) -> list[str]:
    """Up to n photo paths spread over the library's folders (round-robin by folder).

    Read from the folders, not the catalog: calibrating needs files, and scanning into the
    catalog here would make the indexing pass that follows report every photo as unchanged."""
    config = library.config
    found = walk(config.roots, ScanOptions(exclude=config.exclude, skip_hidden=config.skip_hidden), [])
    by_folder: dict[str, list[str]] = {}
    for path in sorted(found):
        by_folder.setdefault(os.path.dirname(path), []).append(path)
    rng = np.random.default_rng(0)
    queues = [list(rng.permutation(paths)) for _, paths in sorted(by_folder.items())]
    picked: list[str] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(str(q.pop()))
    return picked


@dataclass
class Int8Outcome:
    spec: ModelSpec | None  # the int8 model to use, or None: stay with fp32
    record: dict[str, Any]  # what library.json keeps about it
    message: str  # for the user: what was decided and why


def make_int8(library: Library, fp32: Descriptor, make_descriptor: Callable[[ModelSpec], Descriptor],
              report: Callable[[str], None] = lambda text: None) -> Int8Outcome:
    """Calibrate an int8 model on the library's photos, check it, and keep it if it passes."""
    spec = fp32.embedder.spec
    source = Path(spec.file_for_runtime)
    if is_quantized(source):
        return Int8Outcome(None, {}, f"model {spec.name} is already quantized; it is used as it is")
    paths = sample_photos(library, CALIBRATION_PHOTOS + CHECK_PHOTOS)
    images, used = [], []
    for path in paths:
        try:
            images.append(decode(path, min_side=fp32.min_side).image)
            used.append(path)
        except (ImageError, OSError):
            continue
    if len(images) < MIN_PHOTOS:
        return Int8Outcome(None, {}, f"too few photos to calibrate an int8 model ({len(images)}; needs "
                                     f"{MIN_PHOTOS}): fp32 is used")
    n_check = max(MIN_PHOTOS // 4, min(CHECK_PHOTOS, len(images) // 3))
    check, calibration = images[:n_check], images[n_check:]
    settings = repr(fp32.config)
    key = calibration_key(spec.sha256, settings, used[n_check:])
    out = library.folder / f"model-int8-{key[:16]}.onnx"
    started = time.monotonic()
    if not out.exists():
        report(f"Making a faster int8 model: calibrating it on {len(calibration)} of your photos")
        views = [v for img in calibration for v in fp32.prepare(img)]
        quantize(source, out, spec.input_name, views)
    report("Checking the int8 model against the full-precision one")
    int8_spec = replace(spec, runtime_path=out)
    verification = verify(fp32, make_descriptor(int8_spec), check)
    record = {"key": key, "file": out.name, "sha256": sha256_file(out), "calibrated_on": len(calibration),
              "verification": asdict(verification), "passed": verification.passed,
              "seconds": round(time.monotonic() - started, 1)}
    if not verification.passed:
        return Int8Outcome(None, record, f"{verification.describe()}; fp32 is used")
    return Int8Outcome(int8_spec, record, verification.describe())
