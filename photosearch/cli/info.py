"""`photosearch stats` and `photosearch errors`: what a library holds and what went wrong."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core.app import App
from ..core.errors import PhotosearchError
from ..core.library.stats import library_stats


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("stats", parents=[common], help="what a library holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=stats)
    p = sub.add_parser("errors", parents=[common], help="files that could not be indexed, and why")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=errors)


def stats(app: App, args: argparse.Namespace) -> int:
    with app.libraries.open(args.library, write=False) as library:
        s = library_stats(library)
        info: dict[str, Any] = s.to_dict()
        if args.model or (library.config.model or {}).get("path"):
            try:
                embedder = app.embedder_for(library, args.model)
                info["device"] = embedder.device
                info["provider"] = embedder.provider
            except PhotosearchError as exc:
                info["device"] = f"unavailable: {exc}"
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"library     {s.library}")
    for i, fc in enumerate(s.folder_counts):
        print(f"{'folders' if i == 0 else '':<11} {fc.folder}  ({fc.photos} photos)")
    print(f"storage     {s.storage}")
    print("photos      " + ", ".join(f"{n} {status}" for status, n in s.photos.items() if status != "total"))
    print(f"model       {s.model or 'none yet'}" + (f" ({s.dimension}-d)" if s.dimension else ""))
    if "provider" in info:
        print(f"device      {info['device']} ({info['provider']})")
    elif "device" in info:
        print(f"device      {info['device']}")
    print(f"searchable  {s.searchable} photos")
    used = s.precision_used or "not decided yet"
    check = ""
    if s.int8_check:
        c = s.int8_check
        check = (f"; int8 check on {c['photos']} photos: mean cosine {c['mean_cosine']:.3f}, "
                 f"top-10 overlap {c['top10_overlap']:.2f}")
    print(f"precision   {used} (setting: {s.precision}){check}")
    if s.descriptor:
        tuned = (f"tuned to this library (learned from {s.whitened_on} photos)" if s.whitened_on
                 else "not tuned to this library yet" if s.whiten else "")
        print(f"descriptor  {s.descriptor}" + (f"; {tuned}" if tuned else ""))
    return 0


def errors(app: App, args: argparse.Namespace) -> int:
    with app.libraries.open(args.library, write=False) as library:
        problems = library.catalog.errors()
    if args.json:
        print(json.dumps([{"path": p, "reason": r} for p, r in problems], indent=2, ensure_ascii=False))
    elif not problems:
        print("no problems recorded")
    else:
        for path, reason in problems:
            print(f"{path}: {reason}")
    return 0
