"""`photosearch model ...`: list[Any], download, import and remove models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.app import App
from .output import ByteProgress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    mod = sub.add_parser("model", help="list, download, import and remove models")
    msub = mod.add_subparsers(dest="model_action", metavar="ACTION", required=True)
    msub.add_parser("list", help="known and installed models").set_defaults(func=list_models)
    p = msub.add_parser("download", help="download (or build, for the offline model) a known model")
    p.add_argument("name")
    p.set_defaults(func=download)
    p = msub.add_parser("import", help="add your own ONNX image model")
    p.add_argument("file")
    p.add_argument("--name", help="name to give it (default: from the file name)")
    p.set_defaults(func=import_model)
    p = msub.add_parser("remove", help="delete an installed model")
    p.add_argument("name")
    p.set_defaults(func=remove)
    p = msub.add_parser("info", help="everything recorded about an installed model")
    p.add_argument("name")
    p.set_defaults(func=info)
    p = msub.add_parser("default", help="the model new libraries use")
    p.add_argument("name")
    p.set_defaults(func=default)


def list_models(app: App, args: argparse.Namespace) -> int:
    store = app.models
    installed = set(store.installed())
    default_name = app.libraries.settings().get("default_model") or store.default_name()
    for name, entry in store.known.items():
        state = "installed" if name in installed else "not installed"
        size = f"{entry.size / 1e6:.0f} MB download" if entry.size else "built offline"
        mark = "*" if name == default_name else " "
        print(f"{mark} {name:<20} {state:<14} {size:<18} {entry.licence:<11} {entry.description}")
    for name in sorted(installed - set(store.known)):
        meta = store.info(name)
        mark = "*" if name == default_name else " "
        print(f"{mark} {name:<20} {'installed':<14} {'imported':<18} {'?':<11} {meta.get('source', '')}")
    return 0


def download(app: App, args: argparse.Namespace) -> int:
    progress = ByteProgress(f"downloading {args.name}")
    try:
        spec = app.models.install(args.name, on_progress=progress)
    finally:
        progress.close()
    print(f"installed model {spec.name!r} ({spec.path})")
    return 0


def import_model(app: App, args: argparse.Namespace) -> int:
    store = app.models
    spec = store.import_file(Path(args.file), name=args.name)
    meta = store.info(spec.name)
    print(f"imported model {spec.name!r}:")
    print(f"  input       {spec.input_name}, {spec.preprocess.size}x{spec.preprocess.size} RGB, "
          f"mean {spec.preprocess.mean}, std {spec.preprocess.std}")
    how = ("found inside the graph and added as an output" if meta["source_sha256"] != meta["file_sha256"]
           else "an output of the model")
    print(f"  embedding   {spec.embedding} ({how})")
    print(f"  classes     {spec.logits or 'none (no keyword search with this model)'}")
    print(f"use it with: photosearch library create NAME FOLDER --model {spec.name}")
    return 0


def remove(app: App, args: argparse.Namespace) -> int:
    users = [n for n in app.libraries.names()
             if (app.libraries.config(n).model or {}).get("name") == args.name]
    app.models.remove(args.name)
    print(f"removed model {args.name!r}")
    if users:
        print(f"note: libraries that used it need another model or a re-index: {', '.join(users)}")
    return 0


def info(app: App, args: argparse.Namespace) -> int:
    if args.name in app.models.known and not app.models.is_installed(args.name):
        entry = app.models.known[args.name]
        how = "built on this machine from the 'offline' extra" if entry.builder else (
            f"{(entry.size or 0) / 1e6:.0f} MB download, checked by sha256")
        print(f"{entry.name}: {entry.title} (not installed)")
        print(f"  {entry.description}")
        for label, value in (("source", entry.source), ("licence", entry.licence), ("size", how),
                             ("sha256", entry.sha256 or "-"), ("url", entry.url or "-"),
                             ("features", f"{entry.dim}-d")):
            print(f"  {label:<9} {value}")
        print(f"install it with: photosearch model download {entry.name}")
        return 0
    print(json.dumps(app.models.info(args.name), indent=2, sort_keys=True))
    return 0


def default(app: App, args: argparse.Namespace) -> int:
    app.model_spec(args.name)  # must exist
    app.libraries.update_settings(default_model=args.name)
    print(f"new libraries will use model {args.name!r}")
    return 0
