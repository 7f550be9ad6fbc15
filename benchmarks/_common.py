"""Shared helpers for the benchmarks: where ../shared is, generated camera-sized files."""

from __future__ import annotations

import importlib.util
import os
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def shared_dir() -> Path:
    env = os.environ.get("PHOTOSEARCH_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    if not (path / "data" / "photos").is_dir():
        sys.exit(f"skipped: {path} has no data/photos (set PHOTOSEARCH_SHARED to the shared folder)")
    return path


def out_dir(name: str) -> Path:
    path = REPO / "bench-out" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_script(relpath: str):
    spec = importlib.util.spec_from_file_location(Path(relpath).stem, REPO / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resnet50_model() -> Path:
    """The ResNet-50-shaped graph with random weights the speed benchmarks share (built once)."""
    path = out_dir("indexing") / "resnet50_random.onnx"
    if not path.exists():
        load_script("models/resnet50_graph.py").build(path)
    return path


_ORIENT_STORE = {1: [], 3: [Image.Transpose.ROTATE_180], 6: [Image.Transpose.ROTATE_90],
                 8: [Image.Transpose.ROTATE_270]}


def _camera_file(job) -> None:
    src, dst, seed, size = job
    rng = np.random.default_rng(seed)
    img = ImageOps.exif_transpose(Image.open(src)).convert("RGB").resize(size, Image.BICUBIC)
    arr = np.asarray(img, np.int16) + rng.integers(-6, 7, size=(size[1], size[0], 3), dtype=np.int16)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    orientation = [1, 1, 6, 8, 3][seed % 5]  # camera files: mostly upright, some rotated
    for op in _ORIENT_STORE[orientation]:
        img = img.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "photosearch-bench"
    img.save(dst, "JPEG", quality=92, exif=exif.tobytes())


def camera_files(n: int, folder: Path, size=(4000, 3000)) -> list[Path]:
    """n camera-sized JPEGs (upscaled real photos + noise, quality 92), made once and kept."""
    sources = sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(n):
        dst = folder / f"IMG_{i:05d}.jpg"
        if not dst.exists():
            jobs.append((sources[i % len(sources)], dst, i, size))
    if jobs:
        print(f"generating {len(jobs)} camera-sized JPEGs in {folder} (once)...", flush=True)
        with Pool(os.cpu_count()) as pool:
            pool.map(_camera_file, jobs, chunksize=4)
    return [folder / f"IMG_{i:05d}.jpg" for i in range(n)]
