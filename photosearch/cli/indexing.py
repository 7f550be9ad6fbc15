"""`photosearch index`: scan the folders and index what is new or changed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from ..core.app import App
from ..core.pipeline.indexer import IndexSummary, index_library
from ..core.pipeline.precision import PRECISIONS
from ..core.vision.descriptor import CONFIGS
from .output import TerminalProgress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("index", parents=[common], help="scan the folders and index new or changed photos")
    p.add_argument("library_name", nargs="?", metavar="LIBRARY")
    p.add_argument("--reindex", action="store_true", help="forget all vectors and embed everything again")
    p.add_argument("--descriptor", choices=list(CONFIGS),
                   help="how photos become vectors (default: GeM pooling + a thumbnail-size part, rotated "
                        "queries, whitening learned from the library; avg: the model's plain pooling); "
                        "changing it needs --reindex")
    p.add_argument("--workers", type=int, help="decoding threads (default: one per core)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the model's arithmetic: auto (default: int8 on a CPU when it passes its check against "
                        "fp32, fp32 on a GPU), fp32, or int8 (forced; its check is still printed); changing it "
                        "needs --reindex")
    p.set_defaults(func=run)


def run(app: App, args: argparse.Namespace) -> int:
    name = app.libraries.resolve(args.library_name or args.library)
    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("\nstopping after the current batch (Ctrl+C again to abort)...\n")

    config = CONFIGS[args.descriptor] if args.descriptor else None

    def say(text: str) -> None:
        print(text, file=sys.stderr)

    with app.libraries.open(name, write=True) as library:
        if args.precision:
            library.set_precision(args.precision, reindex=args.reindex)
        if args.reindex:
            descriptor = app.reindex(library, args.model, config, report=say)
        else:
            descriptor = app.descriptor_for_indexing(library, args.model, config, report=say)
        embedder = descriptor.embedder
        if (library.config.model or {}).get("sha256") != embedder.spec.sha256:
            print(f"library {library.name!r} uses model {embedder.spec.name!r}", file=sys.stderr)
        signal.signal(signal.SIGINT, on_interrupt)
        try:
            summary = index_library(library, descriptor, cancel=cancel, on_progress=TerminalProgress(),
                                    workers=args.workers, ahead=app.take_decoded(library))
        finally:
            signal.signal(signal.SIGINT, previous)
    print_summary(library.name, summary, embedder.device)
    return 130 if summary.cancelled else 0


def print_summary(name: str, s: IndexSummary, device: str) -> None:
    for notice in s.notices:
        print(f"note: {notice}")
    parts = [f"{s.embedded} embedded"]
    for label, n in (("new", s.added), ("changed", s.changed), ("moved", s.moved), ("back", s.returned),
                     ("missing", s.missing), ("removed", s.removed), ("failed", s.failed),
                     ("unchanged", s.unchanged)):
        if n:
            parts.append(f"{n} {label}")
    state = "stopped early; run it again to finish" if s.cancelled else "up to date"
    print(f"library {name!r} {state}: {', '.join(parts)} in {s.seconds:.1f} s "
          f"({s.rate:.1f} photos/s on {device}{', int8' if s.precision == 'int8' else ''})")
    if s.failed or s.problems:
        print("see 'photosearch errors' for the files that could not be read")
    if s.counts.get("missing"):
        print(missing_line(s.counts["missing"]))


def missing_line(n: int) -> str:
    return (f"{n:,} photo(s) missing: their files were not found (an unplugged drive, a folder moved "
            "away?); they keep their vectors and come back when their files do. "
            "'photosearch library forget-missing' forgets them")
