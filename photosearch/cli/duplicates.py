"""`photosearch duplicates`: groups of duplicates across a library, and what the user decided.

Listing brings the library's stored pairs up to date first (only photos indexed since the
last time are looked at); when the app holds the library, the pairs are used as stored.
Moving files (--apply, --undo) needs the library to itself: when another process writes it,
nothing is moved and the message says who holds it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.app import App
from ..core.duplicates import decisions, journal
from ..core.duplicates.finder import DuplicateGroup, find_duplicates
from ..core.duplicates.keep import parse_rules, resolve_folders
from ..core.duplicates.levels import LEVELS
from ..core.errors import LibraryLocked, PhotosearchError
from ..core.library.libraries import Library
from .output import CountProgress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("duplicates", parents=[common], help="groups of duplicate photos across a library")
    p.add_argument("--level", choices=list(LEVELS), default="copies",
                   help="identical: the same pixels; copies (default): the same picture edited, proven "
                        "in pixels; similar: also bursts and retakes of one scene")
    p.add_argument("--json", action="store_true", help="one JSON object per group per line")
    p.add_argument("--keep", metavar="RULES",
                   help="which photo to keep, rules in order (default: resolution,original,size,date,path)")
    p.add_argument("--prefer", action="append", default=[], metavar="DIR",
                   help="keep the photo in this folder when a group has one there; repeatable")
    p.add_argument("--keep-photo", metavar="PATH",
                   help="keep this photo in its groups whatever the rules say; remembered")
    p.add_argument("--reference", action="append", default=[], metavar="DIR",
                   help="a folder whose photos are never chosen for removal; repeatable")
    p.add_argument("--apply", metavar="trash|move:DIR",
                   help="move the others of each group to the trash, or to a folder (a dry run without this)")
    p.add_argument("--undo", action="store_true", help="put back what the last --apply moved")
    p.add_argument("--not-duplicate", nargs="+", metavar="PATH",
                   help="these photos are not duplicates of each other (keep all); remembered")
    p.add_argument("--decisions", action="store_true", help="list what was decided")
    p.add_argument("--forget-decision", nargs="+", metavar="PATH", help="undo the decisions about these photos")
    p.set_defaults(func=run)


def _paths(items: list[str]) -> list[str]:
    return [str(Path(p).expanduser().absolute()) for p in items]


def _note(lines: list[str]) -> None:
    for line in lines:
        print(f"photosearch: note: {line}", file=sys.stderr)


def run(app: App, args: argparse.Namespace) -> int:
    if args.apply or args.undo:
        return _act(app, args)
    if args.not_duplicate or args.forget_decision or args.keep_photo:
        with app.libraries.open(args.library, write=True) as library:
            if args.keep_photo:
                decisions.choose_keep(library.catalog, _paths([args.keep_photo])[0])
                print(f"remembered: keep {args.keep_photo}")
            elif args.not_duplicate:
                n = decisions.mark_not_duplicates(library.catalog, _paths(args.not_duplicate))
                print(f"remembered: {len(args.not_duplicate)} photos are not duplicates of each other "
                      f"({n} pair(s))")
            else:
                n = decisions.forget_decisions(library.catalog, _paths(args.forget_decision))
                print(f"forgot {n} decision(s)")
        return 0
    try:
        library = app.libraries.open(args.library, write=True)
    except LibraryLocked:  # the app is indexing it: the pairs as stored
        print("photosearch: the library is in use; duplicates as of its last update", file=sys.stderr)
        library = app.libraries.open(args.library, write=False)
    with library:
        if library.writable:
            _note(journal.reconcile(library))  # a crash in a file action: settled before anything is listed
        if args.decisions:
            rows = decisions.list_decisions(library.catalog)
            if not rows:
                print("no decisions yet")
            for a, b, kind, _created in rows:
                if kind == decisions.KEEP:
                    print(f"keep: {' | '.join(a) or '(gone)'}")
                else:
                    print(f"not duplicates: {' | '.join(a) or '(gone)'}  <->  {' | '.join(b) or '(gone)'}")
            return 0
        groups = _find(app, library, args)
    for g in groups:
        if args.json:
            print(json.dumps(g.to_dict(), ensure_ascii=False))
            continue
        print(f"keep   {g.keep.path}  ({g.keep.width}x{g.keep.height}, {g.keep.size / 1e6:.1f} MB)")
        if g.check:
            print(f"  look: {g.check}")
        for c, s in g.others:
            why = f"  {g.evidence[c.id]}" if c.id in g.evidence else ""
            print(f"{s:6.3f} {c.path}  ({c.width}x{c.height}, {c.size / 1e6:.1f} MB){why}")
            for raw in c.companions:
                print(f"         with its RAW file {raw}")
            for _, link in c.links:
                print(f"         with its link {link}")
        for c in g.protected:
            print(f"  ref  {c.path}")
        print()
    if not args.json:
        print(f"{len(groups)} group(s) at level {args.level!r}" if groups else
              f"no duplicates at level {args.level!r}")
    return 0


def _find(app: App, library: Library, args: argparse.Namespace) -> list[DuplicateGroup]:
    # proving pairs in pixels is the slow part of a first grouping (a minute for a few thousand
    # photos of bursts)
    return find_duplicates(library, args.level, parse_rules(args.keep), resolve_folders(args.reference),
                           resolve_folders(args.prefer), app.region_source(library), app.pixel_source(library),
                           CountProgress("looking at new photos", 2000),
                           CountProgress("proving look-alikes in pixels", 200, " photos"))


def _act(app: App, args: argparse.Namespace) -> int:
    from ..core.duplicates import actions

    try:
        library = app.libraries.open(args.library, write=True)
    except LibraryLocked as exc:
        raise LibraryLocked(f"nothing was moved: {exc}") from None
    with library:
        if args.undo:
            out = actions.undo(library)
            _note(out.notes)
            for e in out.moved:
                print(f"put back {e.path}")
            if out.batch and not out.problems:
                print(f"{len(out.moved)} file(s) back where they were")
        else:
            groups = _find(app, library, args)
            out = actions.apply(library, groups, args.apply)
            _note(out.notes)
            where = "the trash" if args.apply == "trash" else resolve_folders([args.apply[5:]])[0]
            for e in out.moved:
                print(f"moved {e.path} -> {e.dest}")
            print(f"{len(out.moved)} file(s) of {out.groups} group(s) moved to {where}; "
                  "'photosearch duplicates --undo' puts them back")
    for problem in out.problems:
        print(f"photosearch: {problem}", file=sys.stderr)
    return 1 if out.problems else 0


def register_compare(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                     common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("compare", parents=[common], help="how alike two photos are, and what differs")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=compare_photos)


def compare_photos(app: App, args: argparse.Namespace) -> int:
    from ..core.duplicates.compare import compare

    for path in (args.a, args.b):
        if not Path(path).is_file():
            raise PhotosearchError(f"no such file: {path}")
    try:
        library = app.libraries.open(args.library, write=False)
    except PhotosearchError:
        library = None  # photos outside any library: the default model and descriptor
    try:
        descriptor = app.descriptor_for_photos(library, args.model)
        result = compare(descriptor, str(Path(args.a).absolute()), str(Path(args.b).absolute()), library)
    finally:
        if library is not None:
            library.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['level']} (look-alike score {result['score']:.3f})")
    print(f"  pixels: {result['evidence']['reason']}")
    if result["whole_picture"]:
        print("  the whole picture matches (turned, mirrored, resized or framed)")
    for key, (x, y) in result["differs"].items():
        print(f"  {key:<9} {x}  vs  {y}")
    if not result["differs"]:
        print("  same resolution, size, date and format")
    return 0
