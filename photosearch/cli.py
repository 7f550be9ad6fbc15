"""The command line: the whole app, headless, over the same core as the GUI.

Never imports Qt. Exit codes: 0 success, 1 a problem the user can fix (the
message says which), 2 bad usage, 130 interrupted (the library is left consistent).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from . import __version__
from .core.app import App
from .core.library.catalog import STATUS_NAMES
from .core.vision.descriptor import CONFIGS
from .core.errors import ImageError, PhotosearchError
from .core.pipeline.indexer import IndexSummary, Progress, index_library
from .core.library.libraries import check_folder
from .core.search import Searcher


# -- output helpers ----------------------------------------------------------
def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TerminalProgress:
    """A one-line progress bar on a terminal; occasional plain lines otherwise."""

    def __init__(self, stream=sys.stderr, interval: float | None = None):
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.last = 0.0
        self.phase = None

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
                    f"ETA {_fmt_time(p.eta)}{failed}")
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

    def __init__(self, label: str, stream=sys.stderr):
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


def _print_hits(hits, as_json: bool, query: str | None = None) -> None:
    if as_json:
        print(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    if not hits:
        print("no similar photos found")
    for h in hits:
        print(f"{h.score:6.3f}  {h.path}")


# -- commands -----------------------------------------------------------------
def cmd_library(app: App, args) -> int:
    libs = app.libraries
    action = args.library_action
    if action == "create":
        model = None
        if args.model:
            model = app.model_spec(args.model).describe()
        config = libs.create(args.name, args.folders, model=model)
        if args.exclude or args.include_hidden:
            def options(c):
                c.exclude = list(args.exclude)
                c.skip_hidden = not args.include_hidden
            config = libs.update(config.name, options)
        print(f"created library {config.name!r} with {len(config.roots)} folder(s); "
              f"run 'photosearch index {config.name}' to index it")
    elif action == "list":
        names = libs.names()
        if not names:
            print("no libraries yet; create one with 'photosearch library create NAME FOLDER...'")
        default = libs.default_name()
        for name in names:
            config = libs.config(name)
            mark = "*" if name == default else " "
            model = (config.model or {}).get("name", "no model yet")
            print(f"{mark} {name}  ({len(config.roots)} folder(s), model: {model})")
            for root in config.roots:
                print(f"      {root}")
    elif action == "add-folder":
        folders = [check_folder(f) for f in args.folders]
        config = libs.update(args.name, lambda c: c.roots.extend(f for f in folders if f not in c.roots))
        print(f"library {config.name!r} now has {len(config.roots)} folder(s); run 'photosearch index' to index them")
    elif action == "remove-folder":
        def remove(c):
            targets = {str(Path(f).expanduser().resolve()) for f in args.folders} | set(args.folders)
            missing = [f for f in args.folders if f not in c.roots and str(Path(f).expanduser().resolve()) not in c.roots]
            if missing:
                raise PhotosearchError(f"not a folder of library {c.name!r}: {', '.join(missing)}")
            c.roots[:] = [r for r in c.roots if r not in targets]
        config = libs.update(args.name, remove)
        print(f"library {config.name!r} now has {len(config.roots)} folder(s); "
              "its photos leave the index at the next 'photosearch index'")
    elif action == "delete":
        libs.delete(args.name)
        print(f"deleted library {args.name!r} (your photos were not touched)")
    elif action == "rename":
        libs.rename(args.name, args.new_name)
        print(f"renamed library {args.name!r} to {args.new_name!r}")
    elif action == "default":
        libs.resolve(args.name)
        libs.update_settings(default_library=args.name)
        print(f"{args.name!r} is now the default library")
    return 0


def cmd_model(app: App, args) -> int:
    store = app.models
    action = args.model_action
    if action == "list":
        installed = set(store.installed())
        default = app.libraries.settings().get("default_model") or store.default_name()
        for name, entry in store.known.items():
            state = "installed" if name in installed else "not installed"
            size = f"{entry.size / 1e6:.0f} MB download" if entry.size else "built offline"
            mark = "*" if name == default else " "
            print(f"{mark} {name:<20} {state:<14} {size:<18} {entry.licence:<11} {entry.description}")
        for name in sorted(installed - set(store.known)):
            meta = store.info(name)
            mark = "*" if name == default else " "
            print(f"{mark} {name:<20} {'installed':<14} {'imported':<18} {'?':<11} {meta.get('source', '')}")
    elif action == "download":
        progress = ByteProgress(f"downloading {args.name}")
        try:
            spec = store.install(args.name, on_progress=progress)
        finally:
            progress.close()
        print(f"installed model {spec.name!r} ({spec.path})")
    elif action == "import":
        spec = store.import_file(Path(args.file), name=args.name)
        meta = store.info(spec.name)
        print(f"imported model {spec.name!r}:")
        print(f"  input       {spec.input_name}, {spec.preprocess.size}x{spec.preprocess.size} RGB, "
              f"mean {spec.preprocess.mean}, std {spec.preprocess.std}")
        how = "found inside the graph and added as an output" if meta["source_sha256"] != meta["file_sha256"] \
            else "an output of the model"
        print(f"  embedding   {spec.embedding} ({how})")
        print(f"  classes     {spec.logits or 'none (no keyword search with this model)'}")
        print(f"use it with: photosearch library create NAME FOLDER --model {spec.name}")
    elif action == "remove":
        users = [n for n in app.libraries.names()
                 if (app.libraries.config(n).model or {}).get("name") == args.name]
        store.remove(args.name)
        print(f"removed model {args.name!r}")
        if users:
            print(f"note: libraries that used it need another model or a re-index: {', '.join(users)}")
    elif action == "info":
        print(json.dumps(store.info(args.name), indent=2, sort_keys=True))
    elif action == "default":
        app.model_spec(args.name)  # must exist
        app.libraries.update_settings(default_model=args.name)
        print(f"new libraries will use model {args.name!r}")
    return 0


def cmd_index(app: App, args) -> int:
    name = app.libraries.resolve(args.library_name or args.library)
    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("\nstopping after the current batch (Ctrl+C again to abort)...\n")

    with app.libraries.open(name, write=True) as library:
        # the model first: if it cannot be loaded, --reindex must not have thrown the vectors away
        descriptor = app.descriptor_for(library, args.model,
                                        CONFIGS[args.descriptor] if args.descriptor else None)
        if args.reindex:
            library.reset_vectors()
        embedder = descriptor.embedder
        if (library.config.model or {}).get("sha256") != embedder.spec.sha256:
            print(f"library {library.name!r} uses model {embedder.spec.name!r}", file=sys.stderr)
        signal.signal(signal.SIGINT, on_interrupt)
        try:
            summary = index_library(library, descriptor, cancel=cancel, on_progress=TerminalProgress(),
                                    workers=args.workers)
        finally:
            signal.signal(signal.SIGINT, previous)
    _print_summary(library.name, summary, embedder)
    return 130 if summary.cancelled else 0


def _print_summary(name: str, s: IndexSummary, embedder) -> None:
    for notice in s.notices:
        print(f"note: {notice}")
    parts = [f"{s.embedded} embedded"]
    for label, n in (("new", s.added), ("changed", s.changed), ("moved", s.moved), ("removed", s.removed),
                     ("failed", s.failed), ("unchanged", s.unchanged)):
        if n:
            parts.append(f"{n} {label}")
    state = "stopped early; run it again to finish" if s.cancelled else "up to date"
    print(f"library {name!r} {state}: {', '.join(parts)} in {s.seconds:.1f} s "
          f"({s.rate:.1f} photos/s on {embedder.device})")
    if s.failed or s.problems:
        print("see 'photosearch errors' for the files that could not be read")


def _open_searcher(app: App, args, need_model: bool):
    library = app.libraries.open(args.library, write=False)
    if not library.config.dim:
        library.close()
        raise PhotosearchError(f"library {library.name!r} is not indexed yet; run 'photosearch index'")
    descriptor = app.descriptor_for(library, args.model) if need_model else None
    return library, Searcher(library, descriptor)


def cmd_search(app: App, args) -> int:
    if args.text:
        library, searcher = _open_searcher(app, args, need_model=False)
        with library:
            hits = searcher.by_text(args.text, k=args.k, min_score=max(args.min_score, 0.0))
            _print_hits(hits, args.json, query=args.text)
        return 0
    if not args.images and not args.batch:
        raise PhotosearchError("give one or more images, --text WORD, or --batch FILE")
    library, searcher = _open_searcher(app, args, need_model=True)
    with library:
        if args.batch:
            return _search_batch(searcher, args)
        hits = searcher.by_images(args.images, k=args.k, min_score=args.min_score)
        _print_hits(hits, args.json, query=args.images[0] if len(args.images) == 1 else args.images)
    return 0


def _search_batch(searcher: Searcher, args) -> int:
    source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
    failures = 0
    with source:
        for line in source:
            query = line.rstrip("\n")
            if not query.strip():
                continue
            try:
                hits = searcher.by_images([query], k=args.k, min_score=args.min_score)
                record = {"query": query, "hits": [h.to_dict() for h in hits]}
            except PhotosearchError as exc:
                failures += 1
                record = {"query": query, "error": str(exc)}
            if args.json:
                print(json.dumps(record, ensure_ascii=False), flush=False)
            else:
                print(f"# {query}")
                if "error" in record:
                    print(f"error: {record['error']}")
                for h in record.get("hits", []):
                    print(f"{h['score']:6.3f}  {h['path']}")
    sys.stdout.flush()
    return 1 if failures else 0


def cmd_similar(app: App, args) -> int:
    library, searcher = _open_searcher(app, args, need_model=False)
    with library:
        ids = [searcher.photo_id(p) for p in args.paths]
        hits = searcher.by_photos(ids, k=args.k, min_score=args.min_score)
        _print_hits(hits, args.json, query=args.paths[0] if len(args.paths) == 1 else args.paths)
    return 0


def cmd_stats(app: App, args) -> int:
    with app.libraries.open(args.library, write=False) as library:
        config = library.config
        counts = library.catalog.counts()
        model = config.model or {}
        info = {
            "library": config.name,
            "folders": config.roots,
            "storage": str(library.folder),
            "photos": counts,
            "model": model.get("name"),
            "model_sha256": model.get("sha256"),
            "dimension": config.dim,
            "index": config.index,
            "indexed_in_search_index": library.index.live_count if library.index else 0,
            "descriptor": _descriptor_name(library.descriptor) if config.dim else None,
            "whitened_on": library.index.whitening.fitted_on if library.index and library.index.whitening else 0,
        }
        if args.model or model.get("path"):
            try:
                embedder = app.embedder_for(library, args.model)
                info["device"] = embedder.device
                info["provider"] = embedder.provider
            except PhotosearchError as exc:
                info["device"] = f"unavailable: {exc}"
        if args.json:
            print(json.dumps(info, indent=2, ensure_ascii=False))
            return 0
        print(f"library     {config.name}")
        for i, root in enumerate(config.roots):
            print(f"{'folders' if i == 0 else '':<11} {root}  ({library.catalog.count_under(root)} photos)")
        print(f"storage     {library.folder}")
        print("photos      " + ", ".join(f"{counts[s]} {s}" for s in STATUS_NAMES.values()))
        print(f"model       {model.get('name', 'none yet')}" + (f" ({config.dim}-d)" if config.dim else ""))
        if "provider" in info:
            print(f"device      {info['device']} ({info['provider']})")
        elif "device" in info:
            print(f"device      {info['device']}")
        print(f"searchable  {info['indexed_in_search_index']} photos")
        if info["descriptor"]:
            tuned = (f"tuned to this library (learned from {info['whitened_on']} photos)" if info["whitened_on"]
                     else "not tuned to this library yet" if library.descriptor.whiten else "")
            print(f"descriptor  {info['descriptor']}" + (f"; {tuned}" if tuned else ""))
    return 0


def _descriptor_name(config) -> str:
    return next((name for name, c in CONFIGS.items() if c == config), "custom")


def cmd_errors(app: App, args) -> int:
    with app.libraries.open(args.library, write=False) as library:
        errors = library.catalog.errors()
    if args.json:
        print(json.dumps([{"path": p, "reason": r} for p, r in errors], indent=2, ensure_ascii=False))
    elif not errors:
        print("no problems recorded")
    else:
        for path, reason in errors:
            print(f"{path}: {reason}")
    return 0


# -- parser -------------------------------------------------------------------
DESCRIPTOR_CHOICES = list(CONFIGS)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-l", "--library", help="library name (default: the default library)")
    common.add_argument("--model", help="model name or ONNX file (default: the library's model)")
    common.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the model runs (default: auto = GPU if usable)")

    parser = argparse.ArgumentParser(
        prog="photosearch",
        description="Find similar photos in your own photo library, privately, on your own machine. "
                    "Run without arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"photosearch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lib = sub.add_parser("library", help="create, list and change libraries")
    lsub = lib.add_subparsers(dest="library_action", metavar="ACTION", required=True)
    p = lsub.add_parser("create", help="create a library of folders")
    p.add_argument("name")
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.add_argument("--model", help="model to index with: an installed name or an ONNX file")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="skip files or folders matching this pattern (e.g. '*/Screenshots', '*.gif'); repeatable")
    p.add_argument("--include-hidden", action="store_true", help="also index hidden folders and files")
    lsub.add_parser("list", help="list libraries")
    for action, helptext in (("add-folder", "add folders to a library"), ("remove-folder", "remove folders")):
        p = lsub.add_parser(action, help=helptext)
        p.add_argument("name")
        p.add_argument("folders", nargs="+", metavar="FOLDER")
    p = lsub.add_parser("delete", help="delete a library (never your photos)")
    p.add_argument("name")
    p = lsub.add_parser("rename", help="rename a library")
    p.add_argument("name")
    p.add_argument("new_name")
    p = lsub.add_parser("default", help="choose the default library")
    p.add_argument("name")

    mod = sub.add_parser("model", help="list, download, import and remove models")
    msub = mod.add_subparsers(dest="model_action", metavar="ACTION", required=True)
    msub.add_parser("list", help="known and installed models")
    p = msub.add_parser("download", help="download (or build, for the offline model) a known model")
    p.add_argument("name")
    p = msub.add_parser("import", help="add your own ONNX image model")
    p.add_argument("file")
    p.add_argument("--name", help="name to give it (default: from the file name)")
    p = msub.add_parser("remove", help="delete an installed model")
    p.add_argument("name")
    p = msub.add_parser("info", help="everything recorded about an installed model")
    p.add_argument("name")
    p = msub.add_parser("default", help="the model new libraries use")
    p.add_argument("name")

    p = sub.add_parser("index", parents=[common], help="scan the folders and index new or changed photos")
    p.add_argument("library_name", nargs="?", metavar="LIBRARY")
    p.add_argument("--reindex", action="store_true", help="forget all vectors and embed everything again")
    p.add_argument("--descriptor", choices=DESCRIPTOR_CHOICES,
                   help="how photos become vectors (default: GeM pooling + a thumbnail-size part, rotated "
                        "queries, whitening learned from the library; avg: the model's plain pooling); "
                        "changing it needs --reindex")
    p.add_argument("--workers", type=int, help="decoding threads (default: one per core)")

    p = sub.add_parser("search", parents=[common], help="find photos similar to one or more images")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("-k", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--min-score", type=float, default=-1.0, help="only results at least this similar (0-1)")
    p.add_argument("--json", action="store_true", help="one JSON object per query")
    p.add_argument("--batch", metavar="LIST_FILE", help="run one query per line of this file ('-' = stdin)")
    p.add_argument("--text", metavar="WORD", help="find photos of a subject by name (dog, car, beach, ...)")

    p = sub.add_parser("similar", parents=[common], help="find photos similar to photos already in the library")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--min-score", type=float, default=-1.0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stats", parents=[common], help="what a library holds")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("errors", parents=[common], help="files that could not be indexed, and why")
    p.add_argument("--json", action="store_true")
    return parser


COMMANDS = {
    "library": cmd_library,
    "model": cmd_model,
    "index": cmd_index,
    "search": cmd_search,
    "similar": cmd_similar,
    "stats": cmd_stats,
    "errors": cmd_errors,
}


def main(argv: list[str] | None = None, app: App | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    app = app or App(device=getattr(args, "device", "auto"),
                     on_notice=lambda text: print(f"note: {text}", file=sys.stderr))
    try:
        return COMMANDS[args.command](app, args)
    except ImageError as exc:
        print(f"photosearch: cannot read the image: {exc}", file=sys.stderr)
        return 1
    except PhotosearchError as exc:
        print(f"photosearch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photosearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug in photosearch, not the user's doing
        traceback.print_exc()
        print("photosearch: internal error; this is a bug in photosearch, please report it with the text above",
              file=sys.stderr)
        return 3
