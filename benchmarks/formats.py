"""What each photo format costs to index: decoding on one core (ms per photo), and photos/s end to
end on every core, against a JPEG of the same photo.

    python benchmarks/formats.py [--n 12] [--photos 24] [--thumbnail 320]

12-megapixel (4000x3000) files made from a real photo of ../shared: JPEG (q92), HEIC (q60, about
the size of an iPhone photo) and AVIF (q80), each without and with a thumbnail of `--thumbnail` px
(HEIC: as iPhones carry one, written with pillow-heif; AVIF: written by `heif-enc -A -t` from
Debian's libheif-examples when it is installed), and a camera RAW (DNG, 12-bit mosaic written with
pidng). Both ways a file can be read: as indexing reads it (the thumbnail the file carries when it
meets indexing's need, pipeline/indexer.py indexing_need) and in full (what previews and Compare
show). For the RAW, the embedded preview (pidng writes none, so the preview step decodes a
camera-sized JPEG, which is what most cameras embed) and the half-size demosaic.

Decoding: decode + preprocessing for the default descriptor's views, one core, median of --n.
End to end: `--photos` copies of each file indexed by the core pipeline (decode pool on every core,
the ResNet-50-shaped graph of benchmarks/indexing.py at fp32, default descriptor), photos/s.
Target: a 12 MP HEIC with a thumbnail indexes at >= 0.5x the rate of the same photo as a JPEG.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import out_dir, resnet50_model, shared_dir
from PIL import Image


def _timed(fn, n: int) -> float:
    fn()  # warm
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def make_files(folder: Path, thumb: int) -> dict[str, Path]:
    """The photo in every format (made once, kept for the next run)."""
    files = {"JPEG": folder / "p.jpg", "HEIC": folder / "p.heic",
             f"HEIC, {thumb} px thumbnail": folder / f"p-t{thumb}.heic", "AVIF": folder / "p.avif",
             f"AVIF, {thumb} px thumbnail": folder / f"p-t{thumb}.avif"}
    if all(f.exists() for f in files.values()):
        return files
    src = Image.open(sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))[7])
    big = src.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 4, (3000, 4000, 3))
    big = Image.fromarray(np.clip(np.asarray(big, np.float32) + noise, 0, 255).astype(np.uint8))
    print("making the 12 MP files (once)...", flush=True)
    big.save(files["JPEG"], "JPEG", quality=92)
    fast = {"preset": "ultrafast"}  # made in seconds, not minutes; decoding costs the same
    big.save(files["HEIC"], "HEIF", quality=60, enc_params=fast)  # ~ the size of an iPhone photo
    big.save(files[f"HEIC, {thumb} px thumbnail"], "HEIF", quality=60, thumbnails=[thumb], enc_params=fast)
    big.save(files["AVIF"], "AVIF", quality=80, speed=10)
    png = folder / "p.png"
    big.save(png)
    if shutil.which("heif-enc"):
        out = str(files[f"AVIF, {thumb} px thumbnail"])
        subprocess.run(["heif-enc", "-A", "-q", "80", "-p", "speed=9", "-t", str(thumb), "-o", out, str(png)],
                       check=True, capture_output=True)
    else:
        del files[f"AVIF, {thumb} px thumbnail"]
        print("heif-enc (Debian: libheif-examples) is not installed: no AVIF with a thumbnail")
    return files


def indexing_rate(app, model: Path, file: Path, copies: int, work: Path) -> float:
    from photosearch.core.pipeline.indexer import index_library

    folder = work / f"{file.name}-{copies}"
    folder.mkdir()
    for i in range(copies):
        # distinct bytes (a trailing byte), so each is a photo of its own
        (folder / f"{i:03d}{file.suffix}").write_bytes(file.read_bytes() + bytes([i % 256]))
    name = folder.name.replace(".", "-")
    app.libraries.create(name, [str(folder)], precision="fp32")
    with app.libraries.open(name, write=True) as lib:
        s = index_library(lib, app.descriptor_for_indexing(lib, model))
    assert s.embedded == copies and not s.failed, s
    return s.pipeline_rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--photos", type=int, default=24, help="files indexed end to end per format (0: none)")
    ap.add_argument("--thumbnail", type=int, default=320, help="the thumbnail's size, long side (iPhones: 320)")
    args = ap.parse_args()
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.pipeline.indexer import indexing_need
    from photosearch.core.vision import imageio, raw
    from photosearch.core.vision.descriptor import DEFAULT
    from tests.helpers import save_dng

    folder = out_dir("formats")
    files = make_files(folder, args.thumbnail)
    work = Path(tempfile.mkdtemp(prefix="ps-formats-"))
    model = resnet50_model()
    try:
        app = App(dirs=app_dirs(work / "home"), device="cpu")
        descriptor = app.describe_with(app.model_spec(model), DEFAULT)
        need = indexing_need(descriptor)

        def prepare(decoded):
            return descriptor.prepare(decoded.image)

        rows = []  # label, file size, path read, ms, photos/s end to end
        for name, path in files.items():
            data = path.read_bytes()
            ways = [("as indexed", True), ("in full", False)] if name != "JPEG" else [("as indexed", True)]
            for way, thumbnail in ways:
                got = imageio.decode(data, name=str(path), need=need, thumbnail=thumbnail).image.size
                ms = _timed(lambda d=data, p=path, t=thumbnail: prepare(
                    imageio.decode(d, name=str(p), need=need, thumbnail=t)), args.n)
                # end to end, as indexing reads the file (in full: the rate of the file without one)
                rate = indexing_rate(app, model, path, args.photos, work) if args.photos and thumbnail else None
                rows.append((f"12 MP {name}", way, got, path.stat().st_size, ms, rate))
        dng = save_dng(np.asarray(Image.open(files["JPEG"])), folder / "p.dng")
        preview = files["JPEG"].read_bytes()
        dng_bytes = dng.read_bytes()

        def raw_preview():
            import rawpy

            with rawpy.imread(io.BytesIO(dng_bytes)) as r:  # what opening the RAW costs
                _ = r.sizes
            prepare(imageio.decode(preview, need=need))  # the preview, decoded like a JPEG

        rows.append(("RAW", "embedded preview", None, dng.stat().st_size, _timed(raw_preview, args.n), None))
        real_preview = raw._preview
        raw._preview = lambda r: None  # no usable preview: demosaic
        try:
            rows.append(("RAW", "half-size demosaic", None, dng.stat().st_size,
                         _timed(lambda: prepare(imageio.decode(dng_bytes, need=need, name="p.dng")),
                                max(3, args.n // 3)), None))
        finally:
            raw._preview = real_preview
    finally:
        shutil.rmtree(work, ignore_errors=True)
    jpeg_ms, jpeg_rate = rows[0][4], rows[0][5]
    longer = f", {need.long} on the longer" if need.long else ""
    print(f"\nindexing needs {need.short} px on the shorter side{longer}"
          f"; decode + preprocessing per photo: one core, median of {args.n}; end to end: {args.photos} files, "
          "ResNet-50-shaped graph, fp32, every core")
    print(f"{'file':<34}{'read':<20}{'pixels':>11}{'size':>8}{'ms/photo':>10}{'/s/core':>9}{'x JPEG':>8}"
          f"{'indexed/s':>11}{'x JPEG':>8}")
    for label, way, got, size, ms, rate in rows:
        pixels = f"{got[0]}x{got[1]}" if got else ""
        end = f"{rate:>11.1f}{rate / jpeg_rate:>8.2f}" if rate and jpeg_rate else ""
        print(f"{label:<34}{way:<20}{pixels:>11}{size / 1e6:>6.1f}MB{ms:>10.1f}{1000 / ms:>9.1f}"
              f"{jpeg_ms / ms:>8.2f}{end}")
    print("target: a 12 MP HEIC with a thumbnail indexes at >= 0.5x the rate of the JPEG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
