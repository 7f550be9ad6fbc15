"""What each photo format costs to decode for indexing (one core, ms per photo).

    python benchmarks/formats.py [--n 12]

12-megapixel (4000x3000) files made from a real photo of ../shared: JPEG (q92), HEIC (q60,
about the size of an iPhone photo), AVIF (q80), and a camera RAW (DNG, 12-bit mosaic written
with pidng). For the RAW, both ways photosearch reads it: the embedded preview JPEG (LibRaw
opens the file, the preview decodes like a JPEG, with draft mode; pidng writes no preview, so
the preview step decodes a camera-sized 4000x3000 JPEG, which is what most cameras embed) and
the half-size demosaic (no usable preview). Each figure is decode + preprocessing for the
default descriptor's views at 224 px and 128 px: all the decoding work of a photo when indexing.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

import numpy as np
from _common import out_dir, shared_dir
from PIL import Image


def _timed(fn, n: int) -> float:
    fn()  # warm
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=12)
    args = ap.parse_args()
    from photosearch.core.vision import imageio, raw
    from photosearch.core.vision.descriptor import DEFAULT
    from photosearch.core.vision.preprocess import Preprocess
    from tests.helpers import save_dng

    folder = out_dir("formats")
    src = Image.open(sorted((shared_dir() / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))[7])
    big = src.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 4, (3000, 4000, 3))
    big = Image.fromarray(np.clip(np.asarray(big, np.float32) + noise, 0, 255).astype(np.uint8))
    files = {"JPEG": folder / "p.jpg", "HEIC": folder / "p.heic", "AVIF": folder / "p.avif"}
    big.save(files["JPEG"], "JPEG", quality=92)
    big.save(files["HEIC"], "HEIF", quality=60)  # ~ the size of an iPhone photo
    big.save(files["AVIF"], "AVIF", quality=80)
    dng = save_dng(np.asarray(big), folder / "p.dng")
    preview = files["JPEG"].read_bytes()

    full, thumb = Preprocess(size=224), Preprocess(size=DEFAULT.thumb, resize="center_crop")
    min_side = full.min_side

    def prepare(decoded):
        return full(decoded.image), thumb(decoded.image)

    rows = []
    for name, path in files.items():
        data = path.read_bytes()
        rows.append((f"12 MP {name}", path.stat().st_size,
                     _timed(lambda d=data, p=path: prepare(imageio.decode(d, min_side, name=str(p))), args.n)))
    dng_bytes = dng.read_bytes()

    def raw_preview():
        import rawpy

        with rawpy.imread(io.BytesIO(dng_bytes)) as r:  # what opening the RAW costs
            _ = r.sizes
        prepare(imageio.decode(preview, min_side))  # the preview, decoded like a JPEG

    rows.append(("RAW, embedded preview", dng.stat().st_size, _timed(raw_preview, args.n)))
    real_preview = raw._preview
    raw._preview = lambda r: None  # no usable preview: demosaic
    try:
        rows.append(("RAW, half-size demosaic", dng.stat().st_size,
                     _timed(lambda: prepare(imageio.decode(dng_bytes, min_side, name="p.dng")), max(3, args.n // 3))))
    finally:
        raw._preview = real_preview
    print(f"decode + preprocessing per photo (one core, median of {args.n}; 4000x3000 pixels)")
    print(f"{'format':<26}{'file':>10}{'ms/photo':>10}{'photos/s/core':>15}")
    for label, size, ms in rows:
        print(f"{label:<26}{size / 1e6:>8.1f}MB{ms:>10.1f}{1000 / ms:>15.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
