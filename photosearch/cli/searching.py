"""`photosearch search` and `photosearch similar`: queries from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ..core.app import App
from ..core.errors import PhotosearchError
from ..core.library.libraries import Library
from ..core.search import Searcher
from .output import print_hits


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[common], help="find photos similar to one or more images")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("-k", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--min-score", type=float, default=-1.0, help="only results at least this similar (0-1)")
    p.add_argument("--json", action="store_true", help="one JSON object per query")
    p.add_argument("--batch", metavar="LIST_FILE", help="run one query per line of this file ('-' = stdin)")
    p.add_argument("--text", metavar="WORD", help="find photos of a subject by name (dog, car, beach, ...)")
    p.set_defaults(func=search)

    p = sub.add_parser("similar", parents=[common], help="find photos similar to photos already in the library")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--min-score", type=float, default=-1.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=similar)


def open_searcher(app: App, args: argparse.Namespace, need_model: bool) -> tuple[Library, Searcher]:
    library = app.libraries.open(args.library, write=False)
    if not library.config.dim:
        library.close()
        raise PhotosearchError(f"library {library.name!r} is not indexed yet; run 'photosearch index'")
    try:
        descriptor = app.descriptor_for(library, args.model) if need_model else None
    except BaseException:
        library.close()
        raise
    return library, Searcher(library, descriptor)


def _query_label(items: list[str]) -> str | list[str]:
    return items[0] if len(items) == 1 else items


def search(app: App, args: argparse.Namespace) -> int:
    if args.text:
        library, searcher = open_searcher(app, args, need_model=False)
        with library:
            hits = searcher.by_text(args.text, k=args.k, min_score=max(args.min_score, 0.0))
            print_hits(hits, args.json, query=args.text)
        return 0
    if not args.images and not args.batch:
        raise PhotosearchError("give one or more images, --text WORD, or --batch FILE")
    source = _open_batch(args.batch) if args.batch else None  # a missing list is said before the model loads
    library, searcher = open_searcher(app, args, need_model=True)
    with library:
        if source is not None:
            with source:
                return _search_batch(searcher, source, args)
        hits = searcher.by_images(args.images, k=args.k, min_score=args.min_score)
        print_hits(hits, args.json, query=_query_label(args.images))
    return 0


def _open_batch(name: str) -> TextIO:
    if name == "-":
        return sys.stdin
    try:
        return open(name, encoding="utf-8")
    except FileNotFoundError:
        raise PhotosearchError(f"the list of queries does not exist: {name}") from None
    except OSError as exc:
        raise PhotosearchError(f"cannot read the list of queries {name}: {exc.strerror or exc}") from None


def _search_batch(searcher: Searcher, source: TextIO, args: argparse.Namespace) -> int:
    failures = 0
    for line in source:
        query = line.rstrip("\n")
        if not query.strip():
            continue
        record: dict[str, Any]
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


def similar(app: App, args: argparse.Namespace) -> int:
    library, searcher = open_searcher(app, args, need_model=False)
    with library:
        ids = [searcher.photo_id(p) for p in args.paths]
        hits = searcher.by_photos(ids, k=args.k, min_score=args.min_score)
        print_hits(hits, args.json, query=_query_label(args.paths))
    return 0
