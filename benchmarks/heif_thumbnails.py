"""HEIC thumbnails for indexing: do vectors made from the thumbnail a file carries agree with those
made from its full picture, and which thumbnail size is the smallest that keeps them?

    python benchmarks/heif_thumbnails.py [--photos 200] [--originals 40] [--sizes 160 240 320 480 640]

Files: ../shared imagenet_sample photos upscaled 2x (about 1000x750; the full-decode path reduces
any bigger picture to the same few hundred pixels), saved as HEIC (q60, x265's ultrafast preset so
that making them takes minutes) with a thumbnail at every size given (long side, made by libheif,
as `heif-enc -t SIZE` and pillow-heif make them: a plainer scaler than a phone's, so a
conservative measure).

- agreement: cosine between the default descriptor (real EfficientNet-Lite0 of ../shared) of each
  thumbnail and of the full decode, per size (mean, 5th percentile, lowest);
- copies: the set of benchmarks/duplicates.py (byte copies, re-encodes, resized, recompressed,
  rotated, mirrored, recoloured, framed, watermarked, screenshotted, cropped copies of each original,
  and two different crops as traps), every file a HEIC with thumbnails, indexed once with full
  decodes and once per thumbnail size; pair precision and recall at each level.

Then the need indexing states (pipeline/indexer.py indexing_need) and which sizes meet it.
"""

from __future__ import annotations

import argparse
import io
import itertools
import shutil
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from _common import load_script, out_dir, shared_dir
from PIL import Image, ImageOps

SIZES = (160, 240, 320, 480, 640)


def _heic(job: tuple[bytes, Path, tuple[int, ...], int]) -> None:
    data, dst, sizes, upscale = job
    import pillow_heif

    pillow_heif.register_heif_opener()
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    if upscale > 1:
        img = img.resize((img.width * upscale, img.height * upscale), Image.Resampling.BICUBIC)
    tmp = dst.with_suffix(".part")
    img.save(tmp, "HEIF", quality=60, thumbnails=[s for s in sizes if s < max(img.size)],
             enc_params={"preset": "ultrafast"})
    tmp.replace(dst)


def make_heics(sources: dict[str, bytes], folder: Path, sizes: tuple[int, ...], upscale: int) -> list[Path]:
    """name -> encoded photo, written as folder/name.heic (once; kept for the next run)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(data, folder / f"{name}.heic", sizes, upscale) for name, data in sources.items()
            if not (folder / f"{name}.heic").exists()]
    if jobs:
        print(f"making {len(jobs)} HEIC files in {folder} (once)...", flush=True)
        with Pool(2) as pool:
            pool.map(_heic, jobs, chunksize=2)
    return [folder / f"{name}.heic" for name in sources]


def _smooth_thumbnail(path: Path, s: int) -> Image.Image:
    """The primary scaled to s px by Pillow (a filtered scaler, as a phone's), then HEIC q60 again."""
    img = Image.open(path).convert("RGB")
    img.thumbnail((s, s), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, "HEIF", quality=60)
    return Image.open(buf).convert("RGB")


def _vectors(descriptor, images) -> np.ndarray:
    images = list(images)
    return np.concatenate([descriptor.describe_images(images[i:i + 32]) for i in range(0, len(images), 32)])


def agreement(descriptor, files: list[Path], sources: list[Path], sizes: tuple[int, ...], filtered: bool):
    """Cosines to the full decode: of each thumbnail size (libheif's and a filtered one), and of
    the JPEG the HEIC was made from (what the descriptor calls the same photo in another codec)."""
    from photosearch.core.pipeline.indexer import indexing_need
    from photosearch.core.vision.imageio import Need, decode

    need = indexing_need(descriptor)
    full = _vectors(descriptor, (decode(str(f), need=need).image for f in files))
    jpeg = _vectors(descriptor, (decode(str(f), need=need).image for f in sources))
    out = {}
    for s in sizes:
        # the smallest thumbnail whose long side is at least s: the one of size s
        carried = _vectors(descriptor, (decode(str(f), need=Need(long=s), thumbnail=True).image for f in files))
        smooth = _vectors(descriptor, (_smooth_thumbnail(f, s) for f in files)) if filtered else full
        out[s] = (np.sum(full * carried, axis=1), np.sum(full * smooth, axis=1))
    return out, np.sum(full * jpeg, axis=1)


def copies_recall(app, model: Path, folder: Path, truth: dict[str, tuple[int, str]], sizes: tuple[int, ...]):
    """Precision and recall per level, for the full decode (None) and each thumbnail size."""
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.pipeline import indexer
    from photosearch.core.vision.imageio import Need, decode

    dups = load_script("benchmarks/duplicates.py")
    real_need = indexer.indexing_need
    rows = {}
    for s in (None, *sizes):
        name = f"heic-{s or 'full'}"
        if s is None:  # every file decoded in full
            indexer.decode = lambda *a, **k: decode(*a, **{**k, "thumbnail": False})
        else:  # the thumbnail of size s, where a file has one
            indexer.decode = decode
            indexer.indexing_need = lambda d, s=s: Need(long=s)
        try:
            app.libraries.create(name, [str(folder)])
            with app.libraries.open(name, write=True) as lib:
                lib.set_precision("fp32")
                indexer.index_library(lib, app.descriptor_for_indexing(lib, model))
                for level in ("identical", "copies", "similar"):
                    found = set()
                    for g in find_duplicates(lib, level):
                        names = sorted(Path(c.path).name.removesuffix(".heic") for c in g.members)
                        found.update(itertools.combinations(names, 2))
                    pos, ignore = dups.truth_pairs(truth, level)
                    rows[(s, level)] = dups.precision_recall(found, pos, ignore)
        finally:
            indexer.decode, indexer.indexing_need = decode, real_need
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=200, help="photos for the agreement (0: skip it)")
    ap.add_argument("--originals", type=int, default=40)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--filtered", action="store_true", help="also thumbnails made by Pillow's filtered scaler")
    args = ap.parse_args()
    sizes = tuple(sorted(args.sizes))
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.pipeline.indexer import indexing_need
    from photosearch.core.vision.descriptor import DEFAULT

    shared = shared_dir()
    model = shared / "models" / "efficientnet_lite0_fp32.onnx"
    photos = sorted((shared / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    bench = out_dir("heif_thumbnails")
    tag = "-".join(map(str, sizes))
    work = Path(tempfile.mkdtemp(prefix="ps-heif-"))
    try:
        app = App(dirs=app_dirs(work / "home"), device="cpu")
        descriptor = app.describe_with(app.model_spec(model), DEFAULT)
        if args.photos:  # 0: the copies part only
            picked = [photos[i] for i in np.random.default_rng(3).permutation(len(photos))[:args.photos]]
            files = make_heics({p.stem: p.read_bytes() for p in picked}, bench / f"photos-{tag}", sizes, 2)
            cos, ref = agreement(descriptor, files, picked, sizes, args.filtered)
            need = indexing_need(descriptor)
            print(f"\n{len(files)} photos, HEIC with thumbnails; default descriptor, {model.name}")
            print(f"indexing needs a picture of at least {need.short} px on its shorter side"
                  + (f" and {need.long} px on its longer" if need.long else ""))
            print(f"reference: the JPEG each HEIC was made from, to the HEIC's full decode: mean cosine "
                  f"{ref.mean():.4f}, 5th percentile {np.percentile(ref, 5):.4f}")
            print("cosine to the full decode, of the thumbnail the file carries (libheif's scaler)"
                  + (" and of a filtered one (Pillow)" if args.filtered else ""))
            print(f"{'thumbnail':>10}{'as 4:3':>10}{'mean':>8}{'5th pct':>9}{'lowest':>8}"
                  + (f"{'filtered mean':>15}{'5th pct':>9}" if args.filtered else "") + "  meets the need")
            for s in sizes:
                c, f = cos[s]
                short = round(s * 3 / 4)
                other = f"{f.mean():>15.4f}{np.percentile(f, 5):>9.4f}" if args.filtered else ""
                print(f"{s:>10}{f'{s}x{short}':>10}{c.mean():>8.4f}{np.percentile(c, 5):>9.4f}{c.min():>8.4f}"
                      f"{other}  {'yes' if need.met_by(s, short) else 'no'}", flush=True)

        dups = load_script("benchmarks/duplicates.py")
        all_orig = sorted(photos)
        calibration = set(np.random.default_rng(5).choice(len(all_orig), 150, replace=False).tolist())
        rest = [p for i, p in enumerate(all_orig) if i not in calibration]
        rng = np.random.default_rng(11)
        originals = [rest[i] for i in sorted(rng.choice(len(rest), args.originals, replace=False))]
        plain = work / "plain"
        plain.mkdir()
        truth = dups.make_set(originals, plain, rng)
        folder = bench / f"copies-{args.originals}-{tag}"
        make_heics({Path(n).stem: (plain / n).read_bytes() for n in truth}, folder, sizes, 2)
        truth = {Path(n).stem: v for n, v in truth.items()}
        rows = copies_recall(app, model, folder, truth, sizes)
        print(f"\ncopies set: {args.originals} originals, {len(truth)} HEIC files; pair precision / recall")
        print(f"{'decoded from':>14}" + "".join(f"{lvl:>20}" for lvl in ("identical", "copies", "similar")))
        for s in (None, *sizes):
            cells = "".join(f"{rows[(s, lvl)][0]:>10.3f}{rows[(s, lvl)][1]:>10.3f}"
                            for lvl in ("identical", "copies", "similar"))
            print(f"{'full picture' if s is None else f'{s} px thumb':>14}{cells}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
