"""The soak of `python benchmarks/load.py --soak`: duplicates applied and undone with kill -9 at random
points, round after round, as a user's machine may crash while cleaning up. Nothing may be lost and
nothing may end up in two places.

    python benchmarks/load.py --soak [--groups 1000] [--rounds 20] [--seed 0]

A library of --groups byte-identical pairs (keep/ is a reference folder, the copies in dup/; every
tenth copy has a RAW file beside it, every seventh one shares its name with another), made with a
tiny model (no ../shared needed). Each round: `photosearch duplicates --apply trash` (or move: to a
folder, every other round) killed at a random point, then `--undo` killed at a random point, then
`--undo` until nothing is left. Half the kills come from the test hook PHOTOSEARCH_FAULT_AFTER (a
random file, a random step of its move), half from a timer (anywhere, SQLite's own writes included).
After each kill and after each round every file is looked for: in its place, or where its journal
row says (the trash, the folder, a copy's temporary name). Printed: photos lost (must be 0) and
photos in two places (must be 0), per round and in all.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

from _common import REPO

STEPS = {"apply": ["apply-intent", "apply-moved", "apply-done"], "undo": ["undo-intent", "undo-moved", "undo-done"]}


def _make(job: tuple[int, str]) -> None:
    from tests.helpers import make_photo, save_jpeg

    i, root = job
    keep = Path(root) / "keep" / f"{i // 100:02d}" / f"k{i:05d}.jpg"
    keep.parent.mkdir(parents=True, exist_ok=True)
    save_jpeg(make_photo(100000 + i, (96, 72)), keep, quality=85)
    name = f"IMG_{i // 7:05d}.jpg" if i % 7 == 0 else f"d{i:05d}.jpg"  # some copies share a name
    dup = Path(root) / "dup" / f"{i % 13:02d}" / name
    dup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(keep, dup)
    if i % 10 == 0:
        dup.with_suffix(".dng").write_bytes(hashlib.sha256(str(i).encode()).digest() * 64)


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Soak:
    def __init__(self, base: Path, model: str):
        self.base, self.photos, self.home = base, base / "photos", base / "home"
        self.env = dict(os.environ, PHOTOSEARCH_HOME=str(self.home), XDG_DATA_HOME=str(base / "xdg"),
                        PYTHONPATH=str(REPO))
        self.model = model
        self.bugs: list[str] = []

    def cli(self, *args: str, fault: str | None = None, kill_after: float | None = None) -> tuple[int, float]:
        """Run a command (killed by the hook or a timer); an exit other than 0, 1 (a problem said) or
        a kill is a bug, kept with what it printed."""
        env = dict(self.env, **({"PHOTOSEARCH_FAULT_AFTER": fault} if fault else {}))
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen([sys.executable, "-m", "photosearch", *args], env=env, cwd=self.base,
                                    stdout=subprocess.DEVNULL, stderr=err)
            if kill_after is not None:
                try:
                    proc.wait(timeout=kill_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            rc = proc.wait()
            if rc not in (0, 1, -9):
                err.seek(0)
                self.bugs.append(f"{' '.join(args[:2])}: exit {rc}: {err.read()[-600:]}")
        return rc, time.perf_counter() - start

    def journal(self) -> list[tuple[int, str, str]]:
        db = sqlite3.connect(f"{(self.home / 'data' / 'libraries' / 'soak' / 'catalog.sqlite').as_uri()}?mode=ro",
                             uri=True, timeout=30)
        try:
            return db.execute("SELECT id, path, dest FROM actions").fetchall()
        finally:
            db.close()

    def unsearchable(self) -> int:
        """Photos the catalog does not count as there (missing), after a round: must be none."""
        db = sqlite3.connect(f"{(self.home / 'data' / 'libraries' / 'soak' / 'catalog.sqlite').as_uri()}?mode=ro",
                             uri=True, timeout=30)
        try:
            return int(db.execute("SELECT COUNT(*) FROM photos WHERE status != 1").fetchone()[0])
        finally:
            db.close()

    def census(self, want: dict[str, str]) -> tuple[int, int, int]:
        """(lost, in two places, away from their place) over every file that may move."""
        where: dict[str, list[str]] = {p: [] for p in want}
        for row_id, path, dest in self.journal():
            if path in where:
                temps = [os.path.join(os.path.dirname(d), f".photosearch-{row_id}.part") for d in (dest, path)]
                for place in (dest, *temps):
                    if place not in where[path] and os.path.lexists(place) and _digest(place) == want[path]:
                        where[path].append(place)
        lost = twice = away = 0
        for path, digest in want.items():
            home = os.path.lexists(path) and _digest(path) == digest
            n = len(where[path]) + home
            lost += n == 0
            twice += n > 1
            away += not home
        return lost, twice, away


def soak(groups: int, rounds: int, seed: int, model: str | None) -> int:
    from tests.helpers import tiny_convnet

    base = Path(tempfile.mkdtemp(prefix="ps-soak-actions-"))
    s = Soak(base, model or str(tiny_convnet(base / "tiny_convnet.onnx")))
    try:
        with Pool(2) as pool:
            pool.map(_make, [(i, str(s.photos)) for i in range(groups)], chunksize=100)
        subprocess.run([sys.executable, "-m", "photosearch", "library", "create", "soak", str(s.photos), "--model",
                        s.model, "--precision", "fp32"], env=s.env, check=True, capture_output=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "photosearch", "index"], env=s.env, check=True, capture_output=True)
        print(f"library: {groups:,} pairs indexed in {time.perf_counter() - t:.0f} s ({base})")
        want = {str(p): _digest(str(p)) for p in sorted((s.photos / "dup").rglob("*")) if p.is_file()}
        kept = {str(p): _digest(str(p)) for p in sorted((s.photos / "keep").rglob("*")) if p.is_file()}
        find = ["duplicates", "--level", "identical", "--reference", str(s.photos / "keep")]
        rng = random.Random(seed)
        # a timer kill lands while files move: after the start (Python, the library, the groups), within
        # the time the files take (learned as rounds go: seconds a file)
        _, startup = s.cli(*find, "--json")
        per_file = 0.03
        total_lost = total_twice = total_away = 0
        kills = {"apply": 0, "undo": 0}
        print("round  how    apply killed at          undo killed at          moved  lost  two places  not back  time")
        for r in range(rounds):
            how = "trash" if r % 2 == 0 else f"move:{base / 'review'}"
            start, said, worst = time.perf_counter(), [], (0, 0)
            for phase in ("apply", "undo"):
                args = [*find, "--apply", how] if phase == "apply" else ["duplicates", "--undo"]
                before = s.census(want)[2]
                todo = max(1, len(want) - before if phase == "apply" else before)  # files this command moves
                if rng.random() < 0.5:
                    n, step = rng.randint(1, todo), rng.choice(STEPS[phase])
                    rc, took = s.cli(*args, fault=f"{n} {step}")
                    said.append(f"file {n} {step}" if rc == -9 else f"(ran to the end: {rc})")
                else:
                    delay = startup + rng.uniform(0, todo * per_file)
                    rc, took = s.cli(*args, kill_after=delay)
                    said.append(f"{delay:.1f} s (timer)" if rc == -9 else f"(ran to the end: {rc})")
                kills[phase] += rc == -9
                lost, twice, away = s.census(want)
                if rc == 0 and abs(away - before) > 10:
                    per_file = max(0.001, (took - startup) / abs(away - before))
                worst = (max(worst[0], lost), max(worst[1], twice))
                if phase == "apply":
                    moved = away
            for _ in range(10):  # undo until nothing is left (each one settles what a kill left first)
                if s.cli("duplicates", "--undo")[0] != 0:
                    break
            lost, twice, away = s.census(want)
            away += s.unsearchable()  # back on disk must mean back in the catalog too
            lost, twice = max(lost, worst[0]), max(twice, worst[1])  # the worst seen after a kill or at the end
            lost += sum(_digest(p) != d for p, d in kept.items())  # a photo kept must never change
            total_lost, total_twice, total_away = total_lost + lost, total_twice + twice, total_away + away
            print(f"{r + 1:5d}  {how[:5]:5s}  {said[0]:23s}  {said[1]:23s} {moved:6d} {lost:5d} "
                  f"{twice:11d} {away:9d}  {time.perf_counter() - start:4.0f} s")
        print(f"soak: {rounds} rounds of {groups:,} groups ({len(want):,} files that move); kill -9 at a random "
              f"point of {kills['apply']} of {rounds} applies and {kills['undo']} of {rounds} undos (the others "
              "ended before their kill)")
        print(f"photos lost: {total_lost} (must be 0); photos in two places: {total_twice} (must be 0); "
              f"not back (on disk or in the catalog) after the undos: {total_away} (must be 0); "
              f"commands that failed with a bug: {len(s.bugs)} (must be 0)")
        for bug in s.bugs[:3]:
            print("  " + bug)
        return 0 if total_lost == total_twice == total_away == len(s.bugs) == 0 else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
