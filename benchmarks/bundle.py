"""The desktop bundle (packaging/build-bundle): its sizes, and the time from starting it to its
window on screen, first and second start. Targets: archive <= 200 MB, window shown <= 3 s on a
second start, on 2 cores.

    python benchmarks/bundle.py dist/photosearch-0.1.0-linux-x86_64.tar.gz [--starts 3] [--sizes-only]

The archive is unpacked into a new folder, as a person would, and started from there with an
environment holding only HOME, PATH=/usr/bin:/bin, PHOTOSEARCH_HOME (new, empty: the first-run
window) and the display (DISPLAY when there is one, else QT_QPA_PLATFORM=offscreen).

- first start: the unpacked files are first evicted from the page cache (fsync, then
  posix_fadvise DONTNEED on each), so they are read from disk as after a download and a
  reboot; the system's own libraries stay cached (evicting those needs root);
- second start: the same again, files cached: the median of --starts.

"Window shown" is when the main window has been painted on screen: the app prints a line then
and closes (PHOTOSEARCH_QUIT_WHEN_SHOWN=1, see photosearch/ui/launch.py; not for people). The
clock runs from starting the process to that line. The reference is the same app started from
the Python that runs this script (`python -m photosearch`), when it has photosearch installed,
measured in the same run, in turns with the bundle's second starts (a shared machine's load
then weighs on both alike). Only the standard library is used: the build runs this at its end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SHOWN_LINE = "photosearch: window shown"  # photosearch/ui/launch.py
QUIT_WHEN_SHOWN_ENV = "PHOTOSEARCH_QUIT_WHEN_SHOWN"
ARCHIVE_TARGET_MB = 200
SHOWN_TARGET_S = 3.0


def size_mb(folder: Path) -> float:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def evict(folder: Path) -> int:
    """Drop the folder's files from the page cache; returns how many were evicted."""
    n = 0
    for p in folder.rglob("*"):
        if p.is_symlink() or not p.is_file():
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)  # dirty pages (just unpacked) cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        finally:
            os.close(fd)
    return n


def start_env(home: Path) -> dict[str, str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PHOTOSEARCH_HOME": str(home / "photosearch"),
           QUIT_WHEN_SHOWN_ENV: "1"}
    if os.environ.get("DISPLAY"):
        env["DISPLAY"] = os.environ["DISPLAY"]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def time_to_window(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from starting the process to its 'window shown' line."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    shown = None
    lines = []
    for line in proc.stderr:
        if shown is None and line.startswith(SHOWN_LINE):
            shown = time.perf_counter() - started
        lines.append(line)
    proc.wait(timeout=60)
    if shown is None:
        sys.exit(f"the app exited ({proc.returncode}) without showing its window:\n{''.join(lines[-20:])}")
    return shown


def python_reference(work: Path) -> list[str] | None:
    """The same app from this Python, when it has photosearch (the build environment does)."""
    probe = subprocess.run([sys.executable, "-c", "import photosearch.ui.launch"], capture_output=True, cwd=work)
    return [sys.executable, "-m", "photosearch"] if probe.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archive", type=Path)
    ap.add_argument("--starts", type=int, default=3, help="second starts to take the median of")
    ap.add_argument("--sizes-only", action="store_true", help="skip the start times")
    args = ap.parse_args()

    archive_mb = args.archive.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="photosearch-bundle-") as tmp:
        work = Path(tmp)
        with tarfile.open(args.archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(work, filter="data")
            else:
                tar.extractall(work)
        unpacked_mb = size_mb(work / "photosearch")
        print(f"archive:  {archive_mb:.1f} MB  (target <= {ARCHIVE_TARGET_MB} MB)  {args.archive}")
        print(f"unpacked: {unpacked_mb:.1f} MB")
        if args.sizes_only:
            return

        exe = work / "photosearch" / "photosearch"
        env = start_env(work)
        cores = len(os.sched_getaffinity(0))
        display = f"DISPLAY={env['DISPLAY']}" if "DISPLAY" in env else "QT_QPA_PLATFORM=offscreen"
        print(f"start to window shown ({display}, {cores} cores, empty library folder: the first-run window):")
        evicted = evict(work / "photosearch")
        first = time_to_window([str(exe)], env, work)
        print(f"  first start:  {first:.2f} s  ({evicted} bundle files read from disk)")
        reference = python_reference(work)
        ref_env = dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        # taken in turns, so that a load that comes and goes (a shared machine) weighs on both alike
        seconds, refs = [], []
        for _ in range(args.starts):
            seconds.append(time_to_window([str(exe)], env, work))
            if reference is not None:
                refs.append(time_to_window(reference, ref_env, work))
        second = statistics.median(seconds)
        print(f"  second start: {second:.2f} s  (target <= {SHOWN_TARGET_S:.0f} s; median of "
              f"{', '.join(f'{s:.2f}' for s in seconds)})")
        if refs:
            print(f"  reference, the same app from Python ({sys.executable}): "
                  f"{statistics.median(refs):.2f} s  (median of {', '.join(f'{s:.2f}' for s in refs)})")


if __name__ == "__main__":
    main()
