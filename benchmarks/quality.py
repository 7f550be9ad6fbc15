"""Retrieval quality on real photos: copy detection and same-subject search.

Copy detection: every photo of ../shared imagenet_sample (or --queries of them) is
edited the way people edit photos; the originals plus the flowers5 photos (distractors)
form the library; each edited copy must find its original. Reported per edit type and
overall: recall@1, recall@10, mAP (one relevant item, so mAP = mean reciprocal rank).

Same subject: every flowers5 photo queries the flowers5 library (itself excluded);
photos of the same class are relevant: mAP and precision@10.

    python benchmarks/quality.py [--model FILE] [--queries 1000] [--config NAME ...] [--precision fp32 int8]

With --precision int8, each configuration also gets a row with the int8 model photosearch makes
on a user's machine: static quantization calibrated on 200 photos of the library (spread over
the originals and the flowers, as a library's own photos are), checked as the app checks it.

Configurations are descriptor settings (see photosearch/core/descriptor.py); the table
prints one row per configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import shared_dir
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from photosearch.core.index.whitening import Whitening
from photosearch.core.models.spec import load_model_spec
from photosearch.core.vision.descriptor import CONFIGS, Descriptor, DescriptorConfig
from photosearch.core.vision.embedder import Embedder
from photosearch.core.vision.imageio import decode

EDITS = ["crop", "downscale", "jpeg", "exif_rotate", "rotate90", "hflip", "color", "border", "overlay",
         "screenshot"]


def _jpeg(img: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kw = {"exif": exif} if exif else {}
    img.convert("RGB").save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def edit(img: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """An edited copy of an (upright) photo, as the encoded file a person would have."""
    w, h = img.size
    if kind == "crop":
        f = rng.uniform(0.5, 0.9)
        cw, ch = int(w * f), int(h * f)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return _jpeg(img.crop((x, y, x + cw, y + ch)))
    if kind == "downscale":
        f = rng.uniform(0.15, 0.30)
        return _jpeg(img.resize((max(8, int(w * f)), max(8, int(h * f))), Image.BILINEAR))
    if kind == "jpeg":
        return _jpeg(img, quality=int(rng.integers(15, 31)))
    if kind == "exif_rotate":
        orientation = int(rng.choice([3, 6, 8]))
        stored = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        exif = Image.Exif()
        exif[0x0112] = orientation
        return _jpeg(img.transpose(stored[orientation]), exif=exif.tobytes())
    if kind == "rotate90":
        return _jpeg(img.transpose(rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270])))
    if kind == "hflip":
        return _jpeg(ImageOps.mirror(img))
    if kind == "color":
        out = ImageEnhance.Brightness(img).enhance(rng.uniform(0.6, 1.4))
        out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.6, 1.4))
        return _jpeg(ImageEnhance.Color(out).enhance(rng.uniform(0.3, 1.7)))
    if kind == "border":
        if rng.random() < 0.5:  # a frame
            b = int(min(w, h) * rng.uniform(0.05, 0.15))
            return _jpeg(ImageOps.expand(img, border=b, fill=tuple(int(c) for c in rng.integers(0, 256, 3))))
        side = int(max(w, h) * 1.0)  # letterbox into a square
        canvas = Image.new("RGB", (side, side), (0, 0, 0))
        canvas.paste(img, ((side - w) // 2, (side - h) // 2))
        return _jpeg(canvas)
    if kind == "overlay":
        out = img.copy()
        d = ImageDraw.Draw(out)
        for _ in range(3):
            x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h - 20))
            d.text((x, y), "© photosearch 2026", fill=(255, 255, 255))
        lw = int(w * 0.18)
        d.rectangle([w - lw - 8, h - lw // 2 - 8, w - 8, h - 8], fill=(220, 40, 40))  # a logo
        return _jpeg(out)
    if kind == "screenshot":
        f = rng.uniform(0.4, 0.7)
        small = img.resize((int(w * f), int(h * f)), Image.BILINEAR)
        canvas = Image.new("RGB", (int(w * f) + 120, int(h * f) + 160), (236, 236, 236))
        ImageDraw.Draw(canvas).rectangle([0, 0, canvas.width, 40], fill=(60, 60, 70))  # a title bar
        canvas.paste(small, (60, 80))
        buf = io.BytesIO()
        canvas.save(buf, "PNG")
        return buf.getvalue()
    raise ValueError(kind)


NOT_FOUND = 10**6  # not in the top 100: counts 0 towards every metric


def metrics(ranks: list[int]) -> tuple[float, float, float]:
    r = np.asarray(ranks)
    return float(np.mean(r == 0)), float(np.mean(r < 10)), float(np.mean(np.where(r < NOT_FOUND, 1.0 / (r + 1), 0.0)))


def describe_all(descriptor: Descriptor, sources: list, workers: int = 2, as_query: bool = False) -> np.ndarray:
    """Descriptors of files or encoded bytes, decoded with photosearch's own decoder.

    As queries, each photo may give several (rotated) descriptors, in a row."""
    def load(src):
        img = decode(src, min_side=descriptor.min_side).image
        images = descriptor.query_images(img) if as_query else [img]
        return [descriptor.prepare(im) for im in images]

    out = []
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(sources), 32):
            views = [v for group in pool.map(load, sources[start:start + 32]) for v in group]
            out.append(descriptor.run(views).vectors)
    return np.concatenate(out)


def int8_descriptor(fp32: Descriptor, library_paths: list[str], cache: Path) -> Descriptor:
    """The int8 model photosearch would make for this library: calibrated on 200 of its photos."""
    from photosearch.core.models.quantize import quantize

    rng = np.random.default_rng(1)
    sample = [library_paths[i] for i in rng.choice(len(library_paths), 200, replace=False)]
    spec = fp32.embedder.spec
    out = cache / f"int8-{spec.sha256[:12]}-{hashlib.md5(repr(fp32.config).encode()).hexdigest()[:8]}.onnx"
    if not out.exists():
        views = [v for p in sample for v in fp32.prepare(decode(p, min_side=fp32.min_side).image)]
        quantize(Path(spec.file_for_runtime), out, spec.input_name, views)
    return Descriptor(Embedder(replace(spec, runtime_path=out), device="cpu"), fp32.config, precision="int8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="ONNX model (default: ../shared efficientnet_lite0_fp32.onnx)")
    ap.add_argument("--queries", type=int, default=1000, help="originals to edit (default: all 1000)")
    ap.add_argument("--config", nargs="*", default=["avg"], help=f"descriptor configurations: {', '.join(CONFIGS)}")
    ap.add_argument("--precision", nargs="*", default=["fp32"], choices=("fp32", "int8"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    shared = shared_dir()
    photos = shared / "data" / "photos"
    model = Path(args.model or shared / "models" / "efficientnet_lite0_fp32.onnx")
    originals = sorted((photos / "imagenet_sample").glob("*.JPEG"))
    flowers_gt = json.loads((photos / "flowers5" / "groundtruth.json").read_text())["labels"]
    flowers = sorted(flowers_gt)
    flower_paths = [photos / "flowers5" / f for f in flowers]
    flower_labels = np.array([flowers_gt[f] for f in flowers])

    rng = np.random.default_rng(0)
    chosen = sorted(rng.choice(len(originals), size=min(args.queries, len(originals)), replace=False))
    queries, truth, kinds = [], [], []
    for i in chosen:
        img = ImageOps.exif_transpose(Image.open(originals[i])).convert("RGB")
        for kind in EDITS:
            queries.append(edit(img, kind, rng))
            truth.append(i)
            kinds.append(kind)
    truth, kinds = np.array(truth), np.array(kinds)
    cache = Path(__file__).resolve().parents[1] / "bench-out" / "quality"
    cache.mkdir(parents=True, exist_ok=True)

    rows = []
    library_paths = [str(p) for p in originals] + [str(p) for p in flower_paths]
    for name, precision in [(c, p) for c in args.config for p in args.precision]:
        spec = load_model_spec(model, cache)
        cfg = CONFIGS[name]
        descriptor = Descriptor(Embedder(Descriptor.prepare_spec(spec, cfg, cache), device="cpu"), cfg)
        if precision == "int8":
            descriptor = int8_descriptor(descriptor, library_paths, cache)
        # descriptors do not depend on the whitening settings: computed once per base setting
        base = replace(cfg, **{f: DescriptorConfig.__dataclass_fields__[f].default
                               for f in DescriptorConfig.__dataclass_fields__ if f.startswith("whiten")})
        digest = hashlib.md5(f"{base}{precision}".encode()).hexdigest()[:12]
        key = cache / f"desc-{model.stem}-{args.queries}-{digest}.npz"
        t0 = time.perf_counter()
        if key.exists():
            with np.load(key) as z:
                lib, q, t_lib = z["lib"], z["q"], float(z["t_lib"])
        else:
            lib = describe_all(descriptor, [str(p) for p in originals] + [str(p) for p in flower_paths])
            t_lib = time.perf_counter() - t0
            q = describe_all(descriptor, queries, as_query=True)
            np.savez(key, lib=lib, q=q, t_lib=t_lib)
        if cfg.whiten:
            # learned from the library itself, as the app does (whitening.py)
            whitening = Whitening.fit(lib, cfg.whitening())
            lib, q = whitening(lib), whitening(q)
        sims = descriptor.query_scores(q, lib, queries_per_item=descriptor.query_rotations)
        flower_lib = lib[len(originals):]
        order = np.argsort(-sims, axis=1)[:, :100]
        ranks = [int(np.where(order[j] == truth[j])[0][0]) if truth[j] in order[j] else NOT_FOUND
                 for j in range(len(sims))]
        per_kind = {k: metrics([r for r, kk in zip(ranks, kinds) if kk == k]) for k in EDITS}
        overall = metrics(ranks)
        # same subject, flowers5
        fs = flower_lib @ flower_lib.T
        np.fill_diagonal(fs, -np.inf)
        forder = np.argsort(-fs, axis=1)
        rel = flower_labels[forder] == flower_labels[:, None]
        rel = rel[:, :-1]
        p10 = float(rel[:, :10].mean())
        cum = np.cumsum(rel, axis=1)
        ap = (cum / np.arange(1, rel.shape[1] + 1) * rel).sum(1) / np.maximum(rel.sum(1), 1)
        name_row = name if precision == "fp32" else f"{name}/int8"
        row = {"config": name_row, "overall": overall, "per_kind": per_kind, "flowers_map": float(ap.mean()),
               "flowers_p10": p10, "ms_per_image": 1000 * t_lib / len(lib)}
        rows.append(row)
        worst = min(per_kind.items(), key=lambda kv: kv[1][0])
        print(f"[{name_row}] copy R@1 {overall[0]:.3f}  R@10 {overall[1]:.3f}  mAP {overall[2]:.3f}  "
              f"hardest {worst[0]} R@1 {worst[1][0]:.3f}  | flowers mAP {row['flowers_map']:.3f} "
              f"P@10 {p10:.3f} | {row['ms_per_image']:.1f} ms/photo", flush=True)

    print("\nrecall@1 by edit type")
    print(f"{'config':<16}" + "".join(f"{k[:10]:>11}" for k in EDITS) + f"{'overall':>9}{'R@10':>7}{'mAP':>7}"
          f"{'flwr mAP':>10}{'P@10':>7}{'ms/img':>8}")
    for r in rows:
        print(f"{r['config']:<16}" + "".join(f"{r['per_kind'][k][0]:>11.3f}" for k in EDITS)
              + f"{r['overall'][0]:>9.3f}{r['overall'][1]:>7.3f}{r['overall'][2]:>7.3f}"
              + f"{r['flowers_map']:>10.3f}{r['flowers_p10']:>7.3f}{r['ms_per_image']:>8.1f}")
    print(f"\n{len(queries)} copy queries against {len(originals)} originals + {len(flowers)} distractors; "
          f"model {model.name}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
