"""Soak: index 20,000 photos while another process searches nonstop, a subfolder goes away
and comes back, and the disk fills up and is freed. Nothing computed may be lost.

    sudo-less machines: the disk-full phase needs a tmpfs (mount) and is skipped without one.
    python benchmarks/load.py [--n 20000] [--model FILE]
    python benchmarks/load.py --soak [--groups 1000] [--rounds 20]   # duplicates cleanup, kill -9 (load_actions.py)

The writer is `photosearch index` in a subprocess (as a user runs it); the reader is another
process that refreshes and searches in a loop, as the app does while another process indexes.
Reported: queries answered and failed, photos embedded twice, vectors lost (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

from _common import REPO, out_dir, shared_dir

READER = r"""
import json, random, sys, time
from pathlib import Path
from photosearch.core.app import App
from photosearch.core.search import Searcher
from photosearch.core.errors import PhotosearchError

stop_file, queries = Path(sys.argv[1]), sys.argv[2:]
app, answered, errors, lib, similar_to = App(device="cpu"), 0, [], None, []
rng = random.Random(0)
while not stop_file.exists():
    try:
        if lib is None:
            lib = app.libraries.open("soak", write=False)
            if not lib.config.dim:
                lib.close(); lib = None; time.sleep(0.2); continue
            searcher = Searcher(lib, app.descriptor_for(lib))
        lib.refresh()
        if answered % 2:
            searcher.by_images([rng.choice(queries)], k=20)
        else:
            if answered % 100 == 0:
                similar_to = sorted(lib.index.live_ids())[:1]
            if similar_to:
                searcher.by_photos(similar_to, k=20)
        answered += 1
    except PhotosearchError as exc:  # a clear message, e.g. a photo forgotten meanwhile
        errors.append(type(exc).__name__ + ": " + str(exc)[:120])
    except Exception as exc:
        errors.append("BUG " + type(exc).__name__ + ": " + str(exc)[:120])
print(json.dumps({"answered": answered, "errors": errors}))
"""


def _make(args):
    from tests.helpers import make_photo, save_jpeg

    i, folder = args
    path = Path(folder) / f"{i // 1000:02d}" / f"g{i:05d}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save_jpeg(make_photo(i, (320, 240)), path, quality=85)


def _db(home: Path) -> sqlite3.Connection:
    path = home / "data" / "libraries" / "soak" / "catalog.sqlite"
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)


def _committed_since(home: Path, t: float) -> int:
    try:
        with _db(home) as db:
            return db.execute("SELECT COUNT(*) FROM photos WHERE indexed_at > ?", (t,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def _vector_ids(home: Path) -> set[int]:
    with _db(home) as db:
        return {r[0] for r in db.execute("SELECT photo_id FROM vectors")}


def _mount_tmpfs(path: Path, size_mb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}M", "tmpfs", str(path)],
                          capture_output=True, text=True)
    return proc.returncode == 0


def _fill(path: Path) -> Path:
    ballast = path / "ballast"
    free = shutil.disk_usage(path).free
    with open(ballast, "wb") as f:
        chunk = b"\0" * (1 << 20)
        try:
            for _ in range(free // len(chunk) + 1):
                f.write(chunk)
        except OSError:
            pass  # full: that is the point
    return ballast


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--model", default=None)
    ap.add_argument("--soak", action="store_true", help="duplicates applied and undone with kill -9 (load_actions.py)")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.soak:
        from load_actions import soak

        return soak(args.groups, args.rounds, args.seed, args.model)
    folder = out_dir("load") / f"files-{args.n}"
    folder.mkdir(parents=True, exist_ok=True)
    with Pool(2) as pool:
        pool.map(_make, [(i, str(folder)) for i in range(args.n)], chunksize=200)
    model = args.model or str(shared_dir() / "models" / "efficientnet_lite0_fp32.onnx")

    home = Path(tempfile.mkdtemp(prefix="ps-soak-"))
    tmpfs = _mount_tmpfs(home, 1200)
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home), PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "photosearch"]
    parked = folder.parent / "parked"
    for stale in parked.glob("*") if parked.exists() else []:  # a previous run stopped half-way
        shutil.move(str(stale), str(folder / stale.name))
    parked.mkdir(exist_ok=True)
    away: list[Path] = []

    def park_first_indexed() -> None:
        # the folder whose photos were indexed first: they have vectors when it goes away,
        # so they go missing, and must come back later without being embedded again
        with _db(home) as db:
            first = db.execute("SELECT path FROM photos WHERE status=1 ORDER BY id LIMIT 1").fetchone()[0]
        away.append(Path(first).parent)
        shutil.move(str(away[0]), str(parked / away[0].name))
    try:
        subprocess.run([*cli, "library", "create", "soak", str(folder), "--model", model], env=env, check=True,
                       capture_output=True)
        stop_file = home / "stop-reader"
        queries = [str(p) for p in sorted(folder.rglob("*.jpg"))[::997]]
        reader = subprocess.Popen([sys.executable, "-c", READER, str(stop_file), *queries], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        committed, ever, runs, t_start = 0, set(), [], time.time()

        def writer(events=()):
            nonlocal committed, ever
            started = time.time()
            proc = subprocess.Popen([*cli, "index", "soak"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            pending = list(events)
            while proc.poll() is None:
                done = _committed_since(home, started)
                while pending and done >= pending[0][0]:
                    pending.pop(0)[1]()
                time.sleep(0.2)
            out, err = proc.communicate()
            n = _committed_since(home, started)
            committed += n
            ever |= _vector_ids(home)
            said = [line for line in (out + err).splitlines() if line.startswith(("library ", "photosearch:"))]
            runs.append((proc.returncode, n, said[-1:] or [""]))
            return proc.returncode

        ballast: list[Path] = []
        events = [(args.n * 3 // 10, park_first_indexed)]
        if tmpfs:
            events.append((args.n * 5 // 10, lambda: ballast.append(_fill(home))))
        writer(events)  # fails on the full disk (when there is a tmpfs), else finishes without the folder
        for b in ballast:
            b.unlink()
        writer()  # resumes with room on the disk; the folder is still away: its photos go missing
        shutil.move(str(parked / away[0].name), str(away[0]))
        writer()  # the folder is back: its photos come back without embedding
        writer()  # a no-change run: nothing may be embedded again
        stop_file.touch()
        reader_out, reader_err = reader.communicate(timeout=120)
        try:
            report = json.loads(reader_out.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            report = {"answered": 0, "errors": [f"the reader died: {reader_err[-500:]}"]}
        final = _vector_ids(home)
        with _db(home) as db:
            counts = dict(db.execute("SELECT status, COUNT(*) FROM photos GROUP BY status").fetchall())
        lost = len(ever - final)
        twice = committed - args.n
        bugs = [e for e in report["errors"] if e.startswith("BUG")]
        print(f"soak: {args.n:,} photos, {len(runs)} writer runs in {time.time() - t_start:.0f} s; "
              f"disk-full phase: {'yes (tmpfs)' if tmpfs else 'skipped (no tmpfs: mount needs root)'}")
        for i, (rc, n, last) in enumerate(runs, 1):
            print(f"  run {i}: exit {rc}, {n:,} photos committed; {last[0][:150]}")
        print(f"queries answered: {report['answered']:,}; errors: {len(report['errors'])} "
              f"(of which bugs: {len(bugs)})")
        for e in report["errors"][:5]:
            print(f"  {e}")
        print(f"photos embedded twice: {twice}; vectors lost: {lost}")
        print(f"library afterwards: {counts.get(1, 0):,} indexed, {counts.get(0, 0)} pending, "
              f"{counts.get(2, 0)} failed, {counts.get(3, 0)} missing")
        ok = lost == 0 and twice == 0 and not bugs and counts.get(1, 0) == args.n
        return 0 if ok else 1
    finally:
        for stale in parked.glob("*"):
            shutil.move(str(stale), str(folder / stale.name))
        if tmpfs:
            subprocess.run(["umount", "--lazy", str(home)], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
