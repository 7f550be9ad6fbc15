"""What the command line prints: progress on a terminal, results as text or JSON lines."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TextIO

from ..core.pipeline.indexer import Progress
from ..core.search import Hit


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TerminalProgress:
    """A one-line progress bar on a terminal; occasional plain lines otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float | None = None):
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.last = 0.0
        self.phase: str | None = None

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == self.phase and now - self.last < self.interval and p.phase != "done":
            return
        self.phase, self.last = p.phase, now
        if p.phase == "indexing" and p.total:
            frac = p.done / p.total
            width = 28
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            failed = f", {p.failed} failed" if p.failed else ""
            line = (f"[{bar}] {p.done}/{p.total} {frac:6.1%}  {p.rate:6.1f} photos/s  "
                    f"ETA {fmt_time(p.eta)}{failed}")
        elif p.phase == "done":
            line = ""
        else:
            line = p.message or p.phase
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if p.phase == "done" and line else ""))
        elif line:
            self.stream.write(line + "\n")
        self.stream.flush()


class ByteProgress:
    """Download progress on a terminal."""

    def __init__(self, label: str, stream: TextIO = sys.stderr):
        self.label, self.stream, self.last = label, stream, 0.0
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 5.0) and done != total:
            return
        self.last = now
        size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB ({done / total:.0%})" if total else f"{done / 1e6:.1f} MB"
        self.stream.write(("\r\033[K" if self.tty else "") + f"{self.label}: {size}" + ("" if self.tty else "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


class CountProgress:
    """A count that moves on one terminal line ("label: done/total unit"), for work that takes a
    while when there is much of it (a total of at least `least`); silent on anything but a
    terminal (scripts read stdout, and stderr stays quiet)."""

    def __init__(self, label: str, least: int, unit: str = "", stream: TextIO = sys.stderr):
        self.label, self.least, self.unit, self.stream = label, least, unit, stream
        self.tty = stream.isatty()
        self.shown = -1  # the percentage on the line

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if total < self.least or not self.tty or percent == self.shown:
            return
        self.shown = percent
        self.stream.write(f"\r\033[K{self.label}: {done}/{total}{self.unit}" + ("\n" if done >= total else ""))
        self.stream.flush()


def print_hits(hits: list[Hit], as_json: bool, query: object = None) -> None:
    if as_json:
        print(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    if not hits:
        print("no similar photos found")
    for h in hits:
        print(f"{h.score:6.3f}  {h.path}" + "".join(f"  (+ {os.path.basename(c)})" for c in h.companions))
