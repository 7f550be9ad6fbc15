"""Duplicates: quality per level on real photos, and speed from stored vectors.

Quality (default): 200 ../shared imagenet_sample photos not used to calibrate the levels, each
with copies of its own (identical: a byte copy, a q95 re-encode, a copy with new EXIF; copies:
resized, recompressed, cropped a little, rotated, mirrored, recoloured, framed, watermarked,
screenshotted), traps (two different crops of one photo: not copies, but `similar`), and the
flowers5 photos as distractors (photos of one subject: five kinds of flower). They are indexed
into a real library with the real EfficientNet-Lite0, and `find_duplicates` groups them at
each level. Pair precision and recall per level, beside a perceptual-hash baseline (dHash,
64 bits, Hamming distance thresholds as czkawka names them) on the same files.

    python benchmarks/duplicates.py [--originals 200] [--places 40]
    python benchmarks/duplicates.py --speed 100000 [1000000]

Speed: a library of N synthetic photos (vectors drawn around real descriptors as in scale.py,
regions drawn at random, 1% planted copies with their regions), grouped from stored vectors:
the first grouping, resident memory, 1,000 photos added and regrouped, and the first pass of
grouping two ways: HNSW neighbour lists against binary codes (duplicates_codes.py).
"""

from __future__ import annotations

import argparse
import collections
import io
import itertools
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import load_script, out_dir, shared_dir
from PIL import Image, ImageOps

from photosearch.core.duplicates.verify import FLAT

quality = load_script("benchmarks/quality.py")

COPY_EDITS = ["downscale", "jpeg", "rotate90", "hflip", "color", "border", "overlay", "screenshot"]


def _jpeg(img: Image.Image, q: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def make_set(originals: list[Path], folder: Path, rng: np.random.Generator) -> dict[str, tuple[int, str]]:
    """Writes the files; returns name -> (group, kind)."""
    truth: dict[str, tuple[int, str]] = {}

    def put(name: str, data: bytes, g: int, kind: str) -> None:
        (folder / name).write_bytes(data)
        truth[name] = (g, kind)

    for g, src in enumerate(originals):
        img = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        w, h = img.size
        put(f"g{g:03d}-orig.jpg", src.read_bytes(), g, "orig")
        put(f"g{g:03d}-bytecopy.jpg", src.read_bytes(), g, "identical")
        put(f"g{g:03d}-reencode.jpg", _jpeg(img, 95), g, "identical")
        exif = Image.Exif()
        exif[0x0131] = "photosearch benchmark"  # Software: a metadata change only
        put(f"g{g:03d}-exif.jpg", _jpeg(img, 95, exif.tobytes()), g, "identical")
        for kind in COPY_EDITS:
            ext = "png" if kind == "screenshot" else "jpg"
            put(f"g{g:03d}-{kind}.{ext}", quality.edit(img, kind, rng), g, "copy")
        f = rng.uniform(0.75, 0.95)  # cropped a little
        cw, ch = int(w * f), int(h * f)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        put(f"g{g:03d}-crop.jpg", _jpeg(img.crop((x, y, x + cw, y + ch))), g, "copy")
        put(f"g{g:03d}-trapL.jpg", _jpeg(img.crop((0, 0, int(w * 0.6), h))), g, "trapL")
        put(f"g{g:03d}-trapR.jpg", _jpeg(img.crop((int(w * 0.4), 0, w, h))), g, "trapR")
    return truth


def truth_pairs(truth: dict[str, tuple[int, str]], level: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(positive pairs, pairs that count neither way) at a level."""
    by_group: dict[int, list[str]] = {}
    for name, (g, _) in truth.items():
        by_group.setdefault(g, []).append(name)
    pos, ignore = set(), set()
    for names in by_group.values():
        for a, b in itertools.combinations(sorted(names), 2):
            ka, kb = truth[a][1], truth[b][1]
            traps = {ka, kb} & {"trapL", "trapR"}
            if level == "identical":
                if {ka, kb} <= {"orig", "identical"}:
                    pos.add((a, b))
                else:
                    ignore.add((a, b))  # a copy found at this level is not wrong about the content
            elif level == "copies":
                if not traps:
                    pos.add((a, b))
                else:
                    # a 60 % crop against its original is a crop, arguably a copy; and two crops
                    # meet in their original's group (each a crop of it): the traps are scored
                    # on their own below, as a pair with no original between them
                    ignore.add((a, b))
            else:
                pos.add((a, b))
    return pos, ignore


def precision_recall(found: set[tuple[str, str]], pos: set[tuple[str, str]],
                     ignore: set[tuple[str, str]]) -> tuple[float, float, int]:
    judged = found - ignore
    tp = len(judged & pos)
    return tp / max(len(judged), 1), tp / max(len(pos), 1), len(judged) - tp


def dhash(path: Path) -> int:
    img = ImageOps.exif_transpose(Image.open(path)).convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    a = np.asarray(img, np.int16)
    bits = (a[:, 1:] > a[:, :-1]).ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def dhash_pairs(names: list[str], hashes: list[int], limit: int) -> set[tuple[str, str]]:
    h = np.array(hashes, dtype=np.uint64)
    out = set()
    for i in range(len(h)):
        x = np.bitwise_xor(h[i + 1:], h[i])
        d = np.array([bin(int(v)).count("1") for v in x])
        for j in np.nonzero(d <= limit)[0]:
            a, b = names[i], names[i + 1 + j]
            out.add((a, b) if a < b else (b, a))
    return out


def _index(app, name: str, folder: Path, model: Path) -> float:  # type: ignore[no-untyped-def]
    from photosearch.core.pipeline.indexer import index_library

    app.libraries.create(name, [str(folder)])
    with app.libraries.open(name, write=True) as lib:
        lib.set_precision("fp32")
        t = time.perf_counter()
        index_library(lib, app.descriptor_for_indexing(lib, model))
        return time.perf_counter() - t


def _found(groups) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = set()
    for g in groups:
        names = sorted(Path(c.path).name for c in g.members)
        found.update(itertools.combinations(names, 2))
    return found


def run_quality(args: argparse.Namespace) -> None:
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import accepts_at, find_duplicates
    from photosearch.core.library.paths import app_dirs

    shared = shared_dir()
    photos = shared / "data" / "photos"
    model = shared / "models" / "efficientnet_lite0_fp32.onnx"
    all_orig = sorted((photos / "imagenet_sample").glob("*.JPEG"))
    # the 150 photos the verifier was calibrated on (seed 5) are left out
    calibration = set(np.random.default_rng(5).choice(len(all_orig), 150, replace=False).tolist())
    rest = [p for i, p in enumerate(all_orig) if i not in calibration]
    rng = np.random.default_rng(11)
    chosen = sorted(rng.choice(len(rest), args.originals + args.places, replace=False))
    originals = [rest[i] for i in chosen[:args.originals]]
    places = [rest[i] for i in chosen[args.originals:]]
    work = Path(tempfile.mkdtemp(prefix="ps-dups-", dir=out_dir("duplicates")))
    folder = work / "photos"
    folder.mkdir()
    truth = make_set(originals, folder, rng)
    gt = json.loads((photos / "flowers5" / "groundtruth.json").read_text())["labels"]
    for f in sorted(gt)[:: args.flower_step]:
        shutil.copy(photos / "flowers5" / f, folder / f"flower-{f.replace('/', '_')}")
    n_files = len(list(folder.iterdir()))
    app = App(dirs=app_dirs(work / "home"), device="cpu")
    took_index = _index(app, "dups", folder, model)
    print(f"{n_files} files indexed in {took_index:.0f} s", flush=True)
    with app.libraries.open("dups", write=True) as lib:
        names_all = sorted(p.name for p in folder.iterdir())
        hashes = [dhash(folder / n) for n in names_all]
        print("\n| level | photosearch precision | recall | false pairs | dHash precision | recall "
              "| false pairs | dHash max distance |")
        print("|---|---|---|---|---|---|---|---|")
        took_first = None
        for level, limit in (("copies", 10), ("identical", 2), ("similar", 16)):
            t = time.perf_counter()
            groups = find_duplicates(lib, level)
            took = time.perf_counter() - t
            took_first = took if took_first is None else took_first
            pos, ignore = truth_pairs(truth, level)
            p, r, fp = precision_recall(_found(groups), pos, ignore)
            dp, dr, dfp = precision_recall(dhash_pairs(names_all, hashes, limit), pos, ignore)
            print(f"| {level} | {p:.3f} | {r:.3f} | {fp} | {dp:.3f} | {dr:.3f} | {dfp} | {limit} |   ({took:.1f} s)",
                  flush=True)
        print(f"\nfirst grouping (copies, from nothing: pairs, then verdicts): {took_first:.1f} s = "
              f"{took_first / took_index:.0%} of the indexing time ({took_index:.0f} s)")
        together = _found(find_duplicates(lib, "copies"))
        kinds = ["bytecopy", "reencode", "exif", *COPY_EDITS, "crop"]
        row = []
        for kind in kinds:
            hits = [tuple(sorted((f"g{g:03d}-orig.jpg", n))) in together
                    for n, (g, k) in truth.items() if n.split("-", 1)[1].startswith(kind)]
            row.append(f"{kind} {np.mean(hits):.2f}")
        print("copies level, per edit: share of (original, edit) pairs in one group\n  " + ", ".join(row))
        traps = [tuple(lib.catalog.photo_by_path(str(folder / f"g{g:03d}-trap{s}.jpg")).id for s in "LR")
                 for g in range(len(originals))]
        for level in ("copies", "similar"):
            ok = accepts_at(lib, level)(traps)  # type: ignore[arg-type]
            print(f"  traps, two different crops of one photo (left and right 60 %): {np.mean(ok):.3f} at {level}")
        if args.first_pass:
            from duplicates_codes import real_first_pass  # type: ignore[import-not-found]

            names = {int(pid): Path(path).name for pid, path in lib.catalog.conn.execute("SELECT id, path FROM photos")}
            real_first_pass(lib, names, {name: kind for name, (_, kind) in truth.items()})
    scene_table(app, photos, model)
    places_run(app, work, photos, places, model, rng)
    if os.environ.get("PHOTOSEARCH_BENCH_KEEP"):  # to look into what it found
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def scene_table(app, photos: Path, model: Path) -> None:  # type: ignore[no-untyped-def]
    """Every real pair of different shots of one scene, as `photosearch compare` judges it."""
    from photosearch.core.duplicates.compare import compare_photos

    descriptor = app.descriptor_for_photos(None, str(model))
    pairs = json.loads((photos / "scene_pairs" / "groundtruth.json").read_text())["pairs"]
    print("\nscene_pairs (different shots of one scene: never copies)\n| pair | kind | level | pixels say | "
          "agree | moved | changed | coverage |\n|---|---|---|---|---|---|---|---|")
    bad = 0
    for a, b, kind in pairs:
        c = compare_photos(descriptor, str(photos / "scene_pairs" / a), str(photos / "scene_pairs" / b))
        f = c.evidence.facts
        bad += c.level in ("identical", "copies")
        print(f"| {a} / {b} | {kind} | {c.level} | {c.evidence.reason} | {f.get('agree', 0):.2f} | "
              f"{f.get('moved', 0):.2f} | {f.get('changed', 0):.2f} | "
              f"{min(f.get('coverage_a', 0), f.get('coverage_b', 0)):.2f} |")
    print(f"  pairs at copies or identical: {bad} of {len(pairs)}")


def places_run(app, work: Path, photos: Path, places: list[Path], model: Path,  # type: ignore[no-untyped-def]
               rng: np.random.Generator) -> None:
    from duplicates_places import copy_pairs, make_places, place_of  # type: ignore[import-not-found]

    from photosearch.core.duplicates.finder import find_duplicates

    folder = work / "places"
    folder.mkdir()
    group = make_places(folder, photos, places, rng, quality.edit)
    took = _index(app, "places", folder, model)
    print(f"\nplaces: {len(group)} photos of {len(places)} places (six visitors each), video frames, "
          f"chessboards and scene pairs, with planted copies; indexed in {took:.0f} s")
    pos = copy_pairs(group)
    with app.libraries.open("places", write=True) as lib:
        t = time.perf_counter()
        copies = _found(find_duplicates(lib, "copies"))
        took_group = time.perf_counter() - t
        tp = len(copies & pos)
        print(f"  copies level: precision {tp / max(len(copies), 1):.3f}, recall {tp / max(len(pos), 1):.3f}, "
              f"false pairs {len(copies - pos)} ({took_group:.1f} s)")
        def source(name: str) -> str:  # what a photo (or a copy of it) comes from: a video, a visitor, ...
            return re.sub(r"[0-9]+$", "", name.removeprefix("copyof-").split("-")[0].split("_")[0])

        false = collections.Counter(" ~ ".join(sorted({source(a), source(b)})) for a, b in copies - pos)
        print("    false pairs by source: " + ", ".join(f"{k} {n}" for k, n in false.most_common()))
        videos = ("vtest", "tree", "Megamind")
        still = {p for p in copies if not {source(p[0]), source(p[1])} & set(videos)}
        still_pos = {p for p in pos if not {source(p[0]), source(p[1])} & set(videos)}
        tp_still = len(still & still_pos)
        print(f"    without video frames (no capture time; see README): precision "
              f"{tp_still / max(len(still), 1):.3f}, recall {tp_still / max(len(still_pos), 1):.3f}, "
              f"false pairs {len(still - still_pos)}")
        missed = collections.Counter(source(a) for a, _ in pos - copies)
        print("    missed pairs by source: " + ", ".join(f"{k} {n}" for k, n in missed.most_common()))
        # a planted copy of a blank frame (a film's first, black frame) has nothing in it to prove:
        # by rule never a copy (verify.TOO_FLAT), so its pairs count as missed above
        blank = {g for name, g in group.items() if g and not name.startswith("copyof")
                 and float(np.asarray(Image.open(folder / name).convert("L"), np.float32).std()) < FLAT}
        blank_pos = {p for p in pos if group[p[0]] in blank}
        if blank_pos:
            print(f"    recall without the {len(blank_pos)} pairs of copies of a blank frame (nothing to prove: "
                  f"never copies by rule): {len((copies & pos) - blank_pos) / max(len(pos - blank_pos), 1):.3f}")
        for a, b in sorted(copies - pos)[:10]:
            print(f"    false: {a} ~ {b}")
        similar = _found(find_duplicates(lib, "similar")) - pos
        visitors = {p for p in similar if "visitor" in p[0] and "visitor" in p[1] and place_of(p[0]) == place_of(p[1])}
        print(f"  similar level: {len(similar)} pairs that are not copies; {len(visitors)} of them two visitors "
              f"of one place (of {len(places) * 15} such pairs)")


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--originals", type=int, default=200)
    ap.add_argument("--flower-step", type=int, default=4, help="every k-th flowers5 photo as a distractor")
    ap.add_argument("--places", type=int, default=40, help="places seen by six visitors each")
    ap.add_argument("--first-pass", action="store_true", help="also compare HNSW and binary codes as first pass")
    ap.add_argument("--speed", type=int, nargs="*", help="library sizes for the speed run")
    args = ap.parse_args()
    if args.speed:
        from duplicates_speed import run_speed  # type: ignore[import-not-found]

        for n in args.speed:
            run_speed(n)
        return 0
    run_quality(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
